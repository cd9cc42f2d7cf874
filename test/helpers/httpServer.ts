import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Every request the server saw, in order. */
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;

/** A real HTTP(S) server on 127.0.0.1, a free port (or `port`: a suite confined to a port range); pass `tls` (key, cert) for https. */
export async function startServer(
  handler: Handler,
  tls?: { key: string | Buffer; cert: string | Buffer },
  port = 0,
): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    Promise.resolve(handler(req, res)).catch((e: unknown) => {
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${bound}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Serve `body` like a static file server: ETag, Last-Modified, Content-Length,
 * and Range / If-Range (206 with Content-Range, or 200 when If-Range does not match).
 */
export function serveBytes(
  res: http.ServerResponse,
  req: http.IncomingMessage,
  body: Buffer,
  extra: { etag?: string; lastModified?: string; contentType?: string; ranges?: boolean } = {},
): void {
  const etag = extra.etag ?? '"v1"';
  const lastModified = extra.lastModified ?? 'Mon, 01 Jan 2024 00:00:00 GMT';
  const headers: http.OutgoingHttpHeaders = {
    'content-type': extra.contentType ?? 'application/octet-stream',
    etag,
    'last-modified': lastModified,
    'accept-ranges': 'bytes',
  };
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (range && extra.ranges !== false && (ifRange === undefined || ifRange === etag || ifRange === lastModified)) {
    const start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, {
      ...headers,
      'content-length': body.length - start,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
    });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': body.length });
  res.end(body);
}

/**
 * A real, tiny HTTP forward proxy on 127.0.0.1: it takes absolute-URI
 * requests (`GET http://host/path`, what clients send a proxy for http://
 * URLs), records them and relays them to the origin. No CONNECT.
 */
export async function startForwardProxy(): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('a proxy needs an absolute URI');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const upstream = http.request(target, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end('bad gateway')));
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
