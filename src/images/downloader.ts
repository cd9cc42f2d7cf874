import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, ftruncateSync, openSync, promises as fsp, rmSync, writeFileSync, writeSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvHttpProxyAgent, interceptors, type Dispatcher } from 'undici';
import type { Checksum } from './checksums.js';
import { ImageError } from './imageError.js';
import { isAlive } from '../host/processes.js';

/**
 * Download one URL to a file: http/https through undici (redirects, proxies
 * from the environment), retries with backoff that resume with Range/If-Range,
 * hashing while the bytes stream to `dest.part`, verification, then an atomic
 * rename to `dest`. A run that gives up keeps what it has for the next run.
 *
 * Files next to `dest` while a download is under way or interrupted:
 *  - `dest.part`       the bytes so far (never mistaken for a finished file);
 *  - `dest.part.json`  url, ETag, Last-Modified, total: what a later resume needs;
 *  - `dest.part.lock`  created with O_EXCL, holds the pid of the downloading process.
 */

export interface DownloadProgress {
  /** Bytes in the part file so far, including a resumed prefix. */
  bytes: number;
  /** Full size, from Content-Length or Content-Range; null when the server does not say. */
  total: number | null;
  /** Speed of this transfer (the resumed prefix does not count). */
  bytesPerSec: number;
  etaSec: number | null;
}

export interface DownloadOptions {
  /** Verify against this digest; a mismatch deletes the part file. */
  expected?: Checksum;
  /** At most about 10 calls a second, plus one when the body is complete. */
  onProgress?: (p: DownloadProgress) => void;
  /** Abort: ImageError('cancelled'), the part file is kept for a resume. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * Share one transfer between concurrent calls for the same dest in this
   * process (default true). With false a call still takes the cross-process
   * lock file, so it waits for a transfer another call or process is doing.
   */
  shareInProcess?: boolean;
  /** How often to look at another process's lock file (default 250 ms). */
  lockPollMs?: number;
  /** Give up when the connection is idle this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Extra trusted CA certificate(s) for https (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Give up after this many attempts in a row that bring no new bytes
   * (default 5); an attempt that gets further starts the count again.
   */
  attempts?: number;
  /** First wait between attempts, doubling up to 30 s (default 1000 ms); a Retry-After header wins. */
  retryDelayMs?: number;
  /** Where http_proxy, https_proxy and no_proxy (or upper case) are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface DownloadResult {
  /** Absolute path of the finished file. */
  path: string;
  bytes: number;
  sha256: string;
  /** Present when the expected digest was sha512. */
  sha512?: string;
  /** True when bytes from an earlier, interrupted download were kept. */
  resumed: boolean;
}

interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
}

const HWM = 1 << 20;
const MAX_REDIRECTS = 10;
const PROGRESS_INTERVAL_MS = 100;
const MAX_RETRY_DELAY_MS = 30_000;

const inFlight = new Map<string, Promise<DownloadResult>>();

export function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const path = resolve(dest);
  if (opts.shareInProcess === false) return downloadLocked(url, path, opts);
  const running = inFlight.get(path);
  if (running) {
    opts.log?.(`joining the download already under way for ${path}`);
    return running;
  }
  const p = downloadLocked(url, path, opts).finally(() => inFlight.delete(path));
  inFlight.set(path, p);
  return p;
}

// ---------------------------------------------------------------- lock file

function cancelled(url: string): ImageError {
  return new ImageError('cancelled', `Download of ${url} cancelled.`, 'run it again to resume from the part file');
}

/** True when the lock was taken; false when a live process holds it. Removes stale locks. */
async function tryLock(lockPath: string): Promise<boolean> {
  for (;;) {
    try {
      const fh = await fsp.open(lockPath, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text: string;
    let mtimeMs: number;
    try {
      text = await fsp.readFile(lockPath, 'utf8');
      mtimeMs = (await fsp.stat(lockPath)).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw e;
    }
    const pid = Number.parseInt(text.trim(), 10);
    // An empty lock is one being written right now, unless it is old.
    const stale = Number.isInteger(pid) && pid > 0 ? !isAlive(pid) : Date.now() - mtimeMs > 10_000;
    if (!stale) return false;
    await fsp.rm(lockPath, { force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

async function downloadLocked(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const lockPath = `${dest}.part.lock`;
  const pollMs = opts.lockPollMs ?? 250;
  let waited = false;
  await fsp.mkdir(dirname(dest), { recursive: true });
  for (;;) {
    if (opts.signal?.aborted) throw cancelled(url);
    if (await tryLock(lockPath)) break;
    if (!waited) opts.log?.(`waiting for another download of ${dest} (lock ${lockPath})`);
    waited = true;
    try {
      await sleep(pollMs, undefined, { signal: opts.signal });
    } catch {
      throw cancelled(url);
    }
  }
  try {
    if (waited && (await exists(dest))) {
      // Someone else finished it while we waited: hash and hand back their file.
      const done = await hashFinished(dest, opts.expected);
      if (done) return done;
    }
    return await transfer(url, dest, opts);
  } finally {
    await fsp.rm(lockPath, { force: true });
  }
}

/** The finished file's result if it matches `expected` (or nothing is expected). */
async function hashFinished(dest: string, expected: Checksum | undefined): Promise<DownloadResult | undefined> {
  const h = new Hashes(expected);
  let bytes = 0;
  for await (const chunk of createReadStream(dest, { highWaterMark: HWM })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const d = h.digest();
  if (expected && d[expected.algo] !== expected.hex.toLowerCase()) return undefined;
  return { path: dest, bytes, sha256: d.sha256, ...(d.sha512 ? { sha512: d.sha512 } : {}), resumed: false };
}

// ---------------------------------------------------------------- hashing

class Hashes {
  private readonly s256 = createHash('sha256');
  private readonly s512: Hash | undefined;
  constructor(expected: Checksum | undefined) {
    this.s512 = expected?.algo === 'sha512' ? createHash('sha512') : undefined;
  }
  update(chunk: Buffer): void {
    this.s256.update(chunk);
    this.s512?.update(chunk);
  }
  digest(): { sha256: string; sha512?: string } {
    const sha256 = this.s256.digest('hex');
    return this.s512 ? { sha256, sha512: this.s512.digest('hex') } : { sha256 };
  }
}

/** Leading bytes of an HTML page: true, false, or undefined while too few bytes are in. */
export function looksLikeHtml(buf: Buffer): boolean | undefined {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x0c)) i++;
  if (i === buf.length) return undefined;
  const head = buf.subarray(i, i + 14).toString('latin1').toLowerCase();
  let undecided = false;
  for (const marker of ['<!doctype html', '<html']) {
    if (head.startsWith(marker)) return true;
    if (head.length < marker.length && marker.startsWith(head)) undecided = true;
  }
  return undecided ? undefined : false;
}

function notAnImage(url: string, why: string): ImageError {
  return new ImageError(
    'not-an-image',
    `${url} is not an image: ${why}.`,
    'the URL probably points to a download page or a login/error page; use the direct link to the image file',
  );
}

// ---------------------------------------------------------------- HTTP (undici)

/**
 * One dispatcher per download: HTTP_PROXY / HTTPS_PROXY / NO_PROXY (lower
 * case first, as curl reads them) from `env`, redirects followed. Plain
 * http:// goes to the proxy as an absolute-URI request (as curl sends it);
 * https:// is tunnelled with CONNECT. With no HTTPS_PROXY, undici sends
 * https through HTTP_PROXY too.
 */
function makeDispatcher(opts: DownloadOptions): { dispatcher: Dispatcher; close(): Promise<void>; proxied: boolean } {
  const env = opts.env ?? process.env;
  // '' (not undefined) so undici never falls back to process.env behind our back.
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
class Transient extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Errors that another attempt cannot fix: certificates, bad URLs, unknown hosts. */
const PERMANENT = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_INVALID_URL|UND_ERR_INVALID_ARG|UND_ERR_NOT_SUPPORTED|ENOTFOUND)/;

function errCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors) && e.errors.length) return errCode(e.errors[0]);
  return undefined;
}

/** What went wrong on the wire, for a person. */
function describeNetError(err: unknown, idleMs: number): string {
  const e = err as Error & { errors?: Error[] };
  const code = errCode(err);
  if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return `no data for ${Math.round(idleMs / 1000)} s`;
  if (code === 'UND_ERR_SOCKET') return `the connection was dropped (${e.message})`;
  let message = e?.message || (Array.isArray(e?.errors) && e.errors[0]?.message) || String(err);
  if (code && !message.includes(code)) message = `${message} (${code})`;
  return message;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const REDIRECT_CODES = new Set([300, 301, 302, 303, 307, 308]);

function retryAfterMs(h: IncomingHttpHeaders): number | undefined {
  const v = h['retry-after'];
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function parseContentRange(v: string | string[] | undefined): { start: number; total: number | null } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(String(v ?? '').trim());
  return m ? { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) } : null;
}

function contentLength(h: IncomingHttpHeaders): number | null {
  const len = h['content-length'];
  return typeof len === 'string' && /^\d+$/.test(len) ? Number(len) : null;
}

/** Thrown by a response handler: the server refused a resume, ask again from byte 0. */
const RESTART = Symbol('restart');

/**
 * One GET through `dispatcher`. `onResponse` judges the status and headers
 * (and may throw to refuse the answer); what it returns takes each body chunk,
 * synchronously. The body is never paused: undici 7's HTTP/1 parser asserts
 * (uncatchably) when a `Connection: close` server ends while the parser is
 * paused (nodejs/undici#5360, fixed in undici 8, which needs Node 22), so
 * the chunk is written and hashed in the data callback instead of queued.
 * Resolves when the body is complete; rejects with what `onResponse` or the
 * body handler threw, or with a Transient for the network.
 */
function exchange(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  idleMs: number,
  onResponse: (status: number, statusText: string, headers: IncomingHttpHeaders, history: URL[]) => (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolveDone, reject) => {
    const u = new URL(url);
    let controller: Dispatcher.DispatchController | undefined;
    let history: URL[] = [];
    let onChunk: ((chunk: Buffer) => void) | undefined;
    let refused: { error: unknown } | undefined;
    const onAbort = () => controller?.abort(signal?.reason ?? new Error('aborted'));
    const settle = (err?: unknown) => {
      signal?.removeEventListener('abort', onAbort);
      if (refused) reject(refused.error);
      else if (err !== undefined) reject(new Transient(describeNetError(err, idleMs), err));
      else resolveDone();
    };
    const refuse = (c: Dispatcher.DispatchController, error: unknown) => {
      refused ??= { error };
      c.abort(error instanceof Error ? error : new Error('refused'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    dispatcher.dispatch(
      { origin: u.origin, path: u.pathname + u.search, method: 'GET', headers, headersTimeout: idleMs, bodyTimeout: idleMs },
      {
        onRequestStart(c, context: { history?: URL[] } | undefined) {
          controller = c;
          history = context?.history ?? [];
          if (signal?.aborted) onAbort();
        },
        onResponseStart(c, statusCode, h, statusMessage) {
          if (statusCode < 200) return; // 1xx: the real answer follows
          try {
            onChunk = onResponse(statusCode, statusMessage ?? '', h, [...history]);
          } catch (e) {
            refuse(c, e);
          }
        },
        onResponseData(c, chunk) {
          if (refused || !onChunk) return;
          try {
            onChunk(chunk);
          } catch (e) {
            refuse(c, e);
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

function discardSync(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

// ---------------------------------------------------------------- transfer

async function readMeta(metaPath: string): Promise<PartMeta | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(metaPath, 'utf8')) as Partial<PartMeta>;
    if (typeof m.url !== 'string') return undefined;
    return { url: m.url, etag: m.etag ?? null, lastModified: m.lastModified ?? null, total: m.total ?? null };
  } catch {
    return undefined;
  }
}

async function partSize(part: string): Promise<number> {
  try {
    return (await fsp.stat(part)).size;
  } catch {
    return 0;
  }
}

async function discard(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => fsp.rm(p, { force: true })));
}

/** Hash the first `length` bytes of the part file (a resume across runs). */
async function hashPrefix(part: string, length: number, expected: Checksum | undefined): Promise<Hashes | undefined> {
  const hashes = new Hashes(expected);
  let onDisk = 0;
  for await (const chunk of createReadStream(part, { highWaterMark: HWM, end: length - 1 })) {
    hashes.update(chunk as Buffer);
    onDisk += (chunk as Buffer).length;
  }
  return onDisk === length ? hashes : undefined;
}

/** Where a download stands between attempts (and across runs, through the part file). */
interface State {
  /** Bytes in the part file, all of them hashed into `hashes` once that exists. */
  have: number;
  /** Covers bytes [0, have); undefined until a resumed prefix has been re-read. */
  hashes: Hashes | undefined;
  meta: PartMeta | undefined;
  total: number | null;
  /** Bytes kept from an earlier run (0 once the download starts over). */
  fromEarlier: number;
  /** Most bytes the part file has held: an attempt that goes past it made progress. */
  best: number;
}

async function transfer(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ImageError('bad-input', `${JSON.stringify(url)} is not a URL.`, 'give an http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ImageError('bad-input', `Cannot download ${url}: only http and https are supported.`, 'give an http:// or https:// URL');
  }
  const part = `${dest}.part`;
  const metaPath = `${dest}.part.json`;
  const log = opts.log ?? (() => {});
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  const maxAttempts = Math.max(1, opts.attempts ?? 5);
  const baseDelay = opts.retryDelayMs ?? 1000;

  // Resume only what we can trust: same URL, and a validator for If-Range
  // (or an expected digest, which catches a changed file at the end).
  const trusted = (m: PartMeta | undefined) => m !== undefined && m.url === url && (m.etag !== null || m.lastModified !== null || opts.expected !== undefined);
  const offset = await partSize(part);
  const meta = offset > 0 ? await readMeta(metaPath) : undefined;
  const st: State = { have: 0, hashes: undefined, meta: undefined, total: null, fromEarlier: 0, best: 0 };
  if (offset > 0 && trusted(meta)) Object.assign(st, { have: offset, meta, total: meta!.total, fromEarlier: offset, best: offset });
  else if (offset > 0) log(`discarding ${part}: it cannot be resumed safely`);

  // Progress: bytes so far (with the resumed prefix), speed of this run.
  const started = Date.now();
  const startBytes = st.have;
  let lastReport = 0;
  const report = (force: boolean) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    const secs = (now - started) / 1000;
    const bytesPerSec = secs > 0 ? Math.max(0, st.have - startBytes) / secs : 0;
    const etaSec = st.total !== null && bytesPerSec > 0 ? Math.max(0, (st.total - st.have) / bytesPerSec) : null;
    opts.onProgress({ bytes: st.have, total: st.total, bytesPerSec, etaSec });
  };

  const startOver = () => Object.assign(st, { have: 0, hashes: undefined, meta: undefined, fromEarlier: 0 });

  /** One request. True when the body is complete; false to go again at once (the server refused the resume). */
  const attempt = async (dispatcher: Dispatcher): Promise<boolean> => {
    if (st.have > 0 && !st.hashes) {
      // Re-hash what an earlier run left before asking for the rest.
      st.hashes = await hashPrefix(part, st.have, opts.expected);
      if (!st.hashes) throw new ImageError('network', `Download of ${url} failed: ${part} changed while resuming.`, 'run it again');
    }
    const headers: Record<string, string> = { 'user-agent': 'vmlab', 'accept-encoding': 'identity', accept: '*/*' };
    if (st.have > 0) {
      headers.range = `bytes=${st.have}-`;
      const validator = st.meta?.etag ?? st.meta?.lastModified ?? null;
      if (validator) headers['if-range'] = validator;
      log(`resuming ${url} at byte ${st.have}`);
    } else {
      log(`GET ${url}`);
    }

    let fd: number | undefined;
    // The first bytes of a fresh file are held back until they are known not to be HTML.
    let sniff: Buffer | undefined;
    const write = (buf: Buffer) => {
      writeSync(fd!, buf, 0, buf.length, st.have);
      st.hashes!.update(buf);
      st.have += buf.length;
      report(false);
    };

    /** Headers are in: judge the answer, get the part file ready, and hand back what takes the body. */
    const onResponse = (status: number, statusText: string, h: IncomingHttpHeaders, history: URL[]): ((chunk: Buffer) => void) => {
      if (history.length > 1) log(`followed ${history.length - 1} redirect(s): ${history.map((u) => u.href).join(' → ')}`);
      if (REDIRECT_CODES.has(status)) throw new ImageError('http', `Download of ${url} failed: more than ${MAX_REDIRECTS} redirects.`, 'the server redirects in a loop; check the URL');
      const range = status === 206 ? parseContentRange(h['content-range']) : null;
      if (st.have > 0 && (status === 416 || (status === 206 && range?.start !== st.have))) {
        // The part does not fit what the server has now: start over.
        log(`server refused the resume (HTTP ${status}); starting over`);
        startOver();
        throw RESTART;
      }
      if (status === 404 || status === 410) {
        discardSync(part, metaPath);
        throw new ImageError('not-found', `${url} was not found (HTTP ${status}).`, 'check the URL; the image may have been moved or replaced by a newer release');
      }
      if (RETRY_STATUS.has(status)) throw new Transient(`HTTP ${status} ${statusText}`.trimEnd(), undefined, retryAfterMs(h));
      if (status !== 200 && !(status === 206 && range)) {
        if (!(st.have > 0 && trusted(st.meta))) discardSync(part, metaPath);
        throw new ImageError('http', `Download of ${url} failed: HTTP ${status} ${statusText}`.trimEnd() + '.', 'try again later, or check the URL');
      }
      const contentType = String(h['content-type'] ?? '').toLowerCase();
      if (/^\s*text\/html\b/.test(contentType)) {
        discardSync(part, metaPath);
        throw notAnImage(url, `the server sent ${contentType.split(';')[0]}`);
      }
      if (status === 200) {
        if (st.have > 0) log(`server sent the whole file (HTTP 200); starting over`);
        startOver();
        st.hashes = new Hashes(opts.expected);
        st.total = contentLength(h);
        const etag = typeof h.etag === 'string' ? h.etag : null;
        st.meta = {
          url,
          // A weak ETag cannot validate a range request.
          etag: etag && !etag.startsWith('W/') ? etag : null,
          lastModified: typeof h['last-modified'] === 'string' ? h['last-modified'] : null,
          total: st.total,
        };
        writeFileSync(metaPath, JSON.stringify(st.meta) + '\n', { mode: 0o600 });
        fd = openSync(part, 'w', 0o600);
        sniff = Buffer.alloc(0);
      } else {
        st.total = range!.total ?? st.total;
        fd = openSync(part, 'r+');
        ftruncateSync(fd, st.have);
      }
      return (chunk) => {
        if (!sniff) return write(chunk);
        const buf = Buffer.concat([sniff, chunk]);
        const verdict = looksLikeHtml(buf);
        if (verdict === undefined && buf.length < 1024) {
          sniff = buf;
          return;
        }
        sniff = undefined;
        if (verdict === true) throw notAnImage(url, 'the body is an HTML page');
        write(buf);
      };
    };

    try {
      await exchange(dispatcher, url, headers, opts.signal, idleMs, onResponse);
      if (sniff?.length) {
        if (looksLikeHtml(sniff)) throw notAnImage(url, 'the body is an HTML page');
        write(sniff);
      }
    } catch (e) {
      if (e === RESTART) return false;
      if (e instanceof ImageError && e.code === 'not-an-image') discardSync(part, metaPath);
      throw e;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (st.total !== null && st.have < st.total) throw new Transient(`the server closed the connection at ${st.have} of ${st.total} bytes`);
    return true;
  };

  const { dispatcher, close, proxied } = makeDispatcher(opts);
  const proxyNote = proxied ? ' and the proxy (HTTP_PROXY/HTTPS_PROXY, NO_PROXY)' : ' (set HTTPS_PROXY/HTTP_PROXY if you need a proxy)';
  let failures = 0;
  try {
    for (;;) {
      if (opts.signal?.aborted) throw cancelled(url);
      const bestBefore = st.best;
      try {
        if (await attempt(dispatcher)) break;
        continue;
      } catch (e) {
        if (opts.signal?.aborted) throw cancelled(url);
        if (!(e instanceof Transient)) throw e; // a verdict (404, HTML, …) or a local file system error
        st.best = Math.max(st.best, st.have);
        failures = st.have > bestBefore ? 1 : failures + 1;
        const permanent = e.cause !== undefined && PERMANENT.test(errCode(e.cause) ?? '');
        const resumable = st.have > 0 && trusted(st.meta);
        if (permanent || failures >= maxAttempts) {
          if (!resumable) await discard(part, metaPath);
          const got = `${st.have}${st.total !== null ? ` of ${st.total}` : ''} bytes received`;
          if (permanent || maxAttempts === 1) {
            throw new ImageError(
              'network',
              `Download of ${url} failed: ${e.message}${resumable ? ` (${got})` : ''}.`,
              resumable ? `${st.have} bytes are kept in ${part}; run it again to resume` : `check the network${proxyNote} and the URL, then run it again`,
            );
          }
          throw new ImageError(
            'network',
            `Download of ${url} failed after ${failures} attempts: ${e.message}; ${got}.`,
            resumable
              ? `${st.have} bytes are kept in ${part}: run the same command again to resume; check the network${proxyNote}`
              : `check the network${proxyNote} and the URL, then run it again`,
          );
        }
        if (!resumable) startOver();
        const wait = Math.min(e.retryAfterMs ?? baseDelay * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
        log(`${e.message}; ${resumable ? `resuming at byte ${st.have}` : 'starting again'} in ${(wait / 1000).toFixed(1)} s (attempt ${failures + 1} of ${maxAttempts})`);
        try {
          await sleep(wait, undefined, { signal: opts.signal });
        } catch {
          throw cancelled(url);
        }
      }
    }
  } finally {
    await close().catch(() => {});
  }
  report(true);

  const digests = st.hashes!.digest();
  if (opts.expected) {
    const actual = digests[opts.expected.algo]!;
    const want = opts.expected.hex.toLowerCase();
    if (actual !== want) {
      await discard(part, metaPath);
      throw new ImageError(
        'checksum-mismatch',
        `Checksum mismatch for ${url}: expected ${opts.expected.algo}:${want}, got ${opts.expected.algo}:${actual}.`,
        'the download is corrupt or the image was replaced upstream; check the published checksum and try again',
      );
    }
  }

  await fsp.rename(part, dest);
  await discard(metaPath);
  const resumed = st.fromEarlier > 0;
  log(`saved ${dest} (${st.have} bytes${resumed ? ', resumed' : ''})`);
  return { path: dest, bytes: st.have, sha256: digests.sha256, ...(digests.sha512 ? { sha512: digests.sha512 } : {}), resumed };
}
