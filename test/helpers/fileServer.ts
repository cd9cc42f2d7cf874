import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { startServer, type TestServer } from './httpServer.js';

export interface FileServerOptions {
  /** Drop the connection after this many body bytes, for the first request of a path only. */
  dropFirstAfter?: Record<string, number>;
  /** Serve this body (and content type) instead of a file. */
  override?: Record<string, { status: number; body: string; type: string }>;
}

/** A static file server over a directory, with ETag and Range/If-Range, streaming (large files fine). */
export function serveDir(dir: string, opts: FileServerOptions = {}): Promise<TestServer> {
  const dropped = new Set<string>();
  return startServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const o = opts.override?.[path];
    if (o) {
      res.writeHead(o.status, { 'content-type': o.type, 'content-length': Buffer.byteLength(o.body) });
      return res.end(o.body);
    }
    const file = join(dir, normalize(path));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    const st = statSync(file);
    const etag = `"${st.size}-${st.mtimeMs}"`;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const start = range && (!ifRange || ifRange === etag) ? Number(range[1]) : 0;
    const headers = { 'content-type': 'application/octet-stream', etag, 'accept-ranges': 'bytes', 'content-length': st.size - start };
    if (start > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${st.size - 1}/${st.size}` });
    else res.writeHead(200, headers);
    const dropAt = opts.dropFirstAfter?.[path];
    if (dropAt !== undefined && !dropped.has(path)) {
      dropped.add(path);
      const s = createReadStream(file, { start, end: start + dropAt - 1 });
      s.on('data', (c) => res.write(c));
      s.on('end', () => setTimeout(() => res.destroy(), 50));
      return;
    }
    createReadStream(file, { start, highWaterMark: 1 << 20 }).pipe(res);
  });
}
