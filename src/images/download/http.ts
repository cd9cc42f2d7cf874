import type { IncomingHttpHeaders } from 'node:http';
import { EnvHttpProxyAgent, interceptors, type Dispatcher } from 'undici';
import { ImageError } from '../imageError.js';
import type { DownloadOptions } from './types.js';

/** HTTP for downloads (undici): the dispatcher, one exchange, and how answers and failures are judged. */

export const MAX_REDIRECTS = 10;

export function looksLikeHtml(buf: Buffer): boolean | undefined {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3; // UTF-8 BOM
  while (
    i < buf.length &&
    (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x0c)
  )
    i++;
  if (i === buf.length) return undefined;
  const head = buf
    .subarray(i, i + 14)
    .toString('latin1')
    .toLowerCase();
  let undecided = false;
  for (const marker of ['<!doctype html', '<html']) {
    if (head.startsWith(marker)) return true;
    if (head.length < marker.length && marker.startsWith(head)) undecided = true;
  }
  return undecided ? undefined : false;
}

export function notAnImage(url: string, why: string): ImageError {
  return new ImageError('not_an_image', `${url} is not an image: ${why}.`, {
    hint: 'the URL probably points to a download page or a login/error page; use the direct link to the image file',
  });
}

// ---------------------------------------------------------------- HTTP (undici)

/**
 * One dispatcher per download: HTTP_PROXY / HTTPS_PROXY / NO_PROXY (lower
 * case first, as curl reads them) from `env`, redirects followed. Plain
 * http:// goes to the proxy as an absolute-URI request (as curl sends it);
 * https:// is tunnelled with CONNECT. With no HTTPS_PROXY, undici sends
 * https through HTTP_PROXY too.
 */
export function makeDispatcher(opts: DownloadOptions): {
  dispatcher: Dispatcher;
  close(): Promise<void>;
  proxied: boolean;
} {
  // No env: no proxy. '' (not undefined) so undici never falls back to the process environment behind our back.
  const env = opts.env ?? {};
  const pick = (name: string) => env[name] || env[name.toUpperCase()] || '';
  const tls = opts.ca ? { ca: opts.ca } : undefined;
  const agent = new EnvHttpProxyAgent({
    httpProxy: pick('http_proxy'),
    httpsProxy: pick('https_proxy'),
    noProxy: pick('no_proxy'),
    proxyTunnel: false,
    ...(tls ? { connect: tls, requestTls: tls } : {}),
  });
  return {
    dispatcher: agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })),
    close: () => agent.close(),
    proxied: Boolean(pick('http_proxy') || pick('https_proxy')),
  };
}

/** A failure worth another attempt: the network (wrapped) or a transient HTTP status. */
export class Transient extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Errors that another attempt cannot fix: certificates, bad URLs, unknown hosts. */
export const PERMANENT = new RegExp(
  '^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|' +
    'ERR_INVALID_URL|UND_ERR_INVALID_ARG|UND_ERR_NOT_SUPPORTED|ENOTFOUND)',
);

export function errCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors) && e.errors.length) return errCode(e.errors[0]);
  return undefined;
}

/** What went wrong on the wire, for a person. */
export function describeNetError(err: unknown, idleMs: number): string {
  const e = err as Error & { errors?: Error[] };
  const code = errCode(err);
  if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT')
    return `no data for ${Math.round(idleMs / 1000)} s`;
  if (code === 'UND_ERR_SOCKET') return `the connection was dropped (${e.message})`;
  let message = e?.message || (Array.isArray(e?.errors) && e.errors[0]?.message) || String(err);
  if (code && !message.includes(code)) message = `${message} (${code})`;
  return message;
}

export const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
export const REDIRECT_CODES = new Set([300, 301, 302, 303, 307, 308]);

export function retryAfterMs(h: IncomingHttpHeaders): number | undefined {
  const v = h['retry-after'];
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function parseContentRange(v: string | string[] | undefined): { start: number; total: number | null } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(String(v ?? '').trim());
  return m ? { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) } : null;
}

export function contentLength(h: IncomingHttpHeaders): number | null {
  const len = h['content-length'];
  return typeof len === 'string' && /^\d+$/.test(len) ? Number(len) : null;
}

/**
 * What a response handler says: take the body chunk by chunk (a chunk
 * handler may stop the exchange too), or stop it at once, for a reason the
 * caller acts on (start over, hand over to segments, the file changed).
 */
export type Answer<S> = { body: (chunk: Buffer) => S | undefined } | { stop: S };

/**
 * One GET through `dispatcher`. `onResponse` judges the status and headers;
 * what it answers takes each body chunk, synchronously. The body is never
 * paused: undici 7's HTTP/1 parser asserts (uncatchably) when a
 * `Connection: close` server ends while the parser is paused
 * (nodejs/undici#5360, fixed in undici 8, which needs Node 22), so the chunk
 * is written and hashed in the data callback instead of queued. Resolves with
 * undefined when the body is complete, or with the reason a handler stopped;
 * rejects with what a handler threw (a verdict), or with a Transient for the
 * network.
 */
export function exchange<S>(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  idleMs: number,
  onResponse: (status: number, statusText: string, headers: IncomingHttpHeaders, history: URL[]) => Answer<S>,
): Promise<S | undefined> {
  return new Promise((resolveDone, reject) => {
    const u = new URL(url);
    let controller: Dispatcher.DispatchController | undefined;
    let history: URL[] = [];
    let onChunk: ((chunk: Buffer) => S | undefined) | undefined;
    let ended: { error: unknown } | { stop: S } | undefined;
    const onAbort = () => controller?.abort(signal?.reason ?? new Error('aborted'));
    const settle = (err?: unknown) => {
      signal?.removeEventListener('abort', onAbort);
      if (ended && 'stop' in ended) resolveDone(ended.stop);
      else if (ended) reject(ended.error);
      else if (err !== undefined) reject(new Transient(describeNetError(err, idleMs), err));
      else resolveDone(undefined);
    };
    const end = (c: Dispatcher.DispatchController, why: { error: unknown } | { stop: S }) => {
      ended ??= why;
      c.abort('error' in why && why.error instanceof Error ? why.error : new Error('stopped'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    dispatcher.dispatch(
      {
        origin: u.origin,
        path: u.pathname + u.search,
        method: 'GET',
        headers,
        headersTimeout: idleMs,
        bodyTimeout: idleMs,
      },
      {
        onRequestStart(c, context: { history?: URL[] } | undefined) {
          controller = c;
          history = context?.history ?? [];
          if (signal?.aborted) onAbort();
        },
        onResponseStart(c, statusCode, h, statusMessage) {
          if (statusCode < 200) return; // 1xx: the real answer follows
          try {
            const answer = onResponse(statusCode, statusMessage ?? '', h, [...history]);
            if ('stop' in answer) end(c, { stop: answer.stop });
            else onChunk = answer.body;
          } catch (e) {
            end(c, { error: e });
          }
        },
        onResponseData(c, chunk) {
          if (ended || !onChunk) return;
          try {
            const stop = onChunk(chunk);
            if (stop !== undefined) end(c, { stop });
          } catch (e) {
            end(c, { error: e });
          }
        },
        onResponseEnd() {
          settle();
        },
        onResponseError(_c, err) {
          settle(err);
        },
      },
    );
  });
}
