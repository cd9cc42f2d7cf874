import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type http from 'node:http';
import { startServer, type TestServer } from './httpServer.js';

export interface FileServerOptions {
  /** Drop the connection after this many body bytes, for the first request of a path only. */
  dropFirstAfter?: Record<string, number>;
  /**
   * Drop the connection of the n-th request of a path after drops[path][n]
   * body bytes (0: headers, then nothing); later requests are served whole.
   */
  drops?: Record<string, number[]>;
  /** Send the body of these paths at about this many bytes a second (a slow link). */
  bytesPerSec?: Record<string, number>;
  /** Serve this body (and content type) instead of a file. */
  override?: Record<string, { status: number; body: string; type: string }>;
  /** Listen here instead of a free port. */
  port?: number;
  /** false: no Accept-Ranges, and Range is ignored (every answer is the whole file, 200). */
  ranges?: boolean;
  /** Cut the first request of a path whose range starts at `start` after `after` body bytes (one segment of a segmented download). */
  cutRange?: Record<string, { start: number; after: number }>;
}

export interface FileServer extends TestServer {
  /** Responses still sending. */
  active(): number;
}

/** Write `file` from `start`, at most `limit` bytes, `rate` bytes a second; resolves when written or the client went away. */
function sendSlowly(res: http.ServerResponse, file: string, start: number, limit: number, rate: number): Promise<void> {
  const piece = Math.max(1, Math.min(64 * 1024, Math.floor(rate / 10)));
  return new Promise((done) => {
    const s = createReadStream(file, { start, end: start + limit - 1, highWaterMark: piece });
    s.on('data', (c) => {
      s.pause();
      res.write(c);
      setTimeout(() => s.resume(), (1000 * c.length) / rate);
    });
    s.on('end', () => done());
    s.on('error', () => done());
    res.on('close', () => {
      s.destroy();
      done();
    });
  });
}

/**
 * A static file server over a directory, with ETag and Range/If-Range
 * (`bytes=a-` and `bytes=a-b`), streaming (large files fine); each response
 * (each connection) can be throttled, dropped or cut.
 */
export async function serveDir(dir: string, opts: FileServerOptions = {}): Promise<FileServer> {
  const seen = new Map<string, number>();
  const cut = new Set<string>();
  let active = 0;
  const server = await startServer(
    async (req, res) => {
      active++;
      res.on('close', () => active--);
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
      const nth = seen.get(path) ?? 0;
      seen.set(path, nth + 1);
      const st = statSync(file);
      const etag = `"${st.size}-${st.mtimeMs}"`;
      const range = opts.ranges === false ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      const honoured = range && (!ifRange || ifRange === etag);
      const start = honoured ? Number(range[1]) : 0;
      const end = honoured && range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
      const length = end - start + 1;
      const headers = {
        'content-type': 'application/octet-stream',
        etag,
        ...(opts.ranges === false ? {} : { 'accept-ranges': 'bytes' }),
        'content-length': length,
      };
      if (honoured) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${st.size}` });
      else res.writeHead(200, headers);
      const c = opts.cutRange?.[path];
      const cutHere = honoured && c?.start === start && !cut.has(path);
      if (cutHere) cut.add(path);
      const dropAt = cutHere
        ? c.after
        : (opts.drops?.[path]?.[nth] ?? (nth === 0 ? opts.dropFirstAfter?.[path] : undefined));
      const rate = opts.bytesPerSec?.[path];
      if (dropAt !== undefined) {
        res.flushHeaders();
        if (dropAt > 0) await sendSlowly(res, file, start, dropAt, rate ?? 1e12);
        setTimeout(() => res.destroy(), 50);
        return;
      }
      if (rate !== undefined) {
        await sendSlowly(res, file, start, length, rate);
        res.end();
        return;
      }
      createReadStream(file, { start, end, highWaterMark: 1 << 20 }).pipe(res);
    },
    undefined,
    opts.port,
  );
  return { ...server, active: () => active };
}
