import { closeSync, ftruncateSync, openSync, promises as fsp, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Checksum } from './checksums.js';
import { ImageError } from './imageError.js';
import { isAlive } from '../host/processes.js';
import { GrowingFileDigest, hashFileThreaded, type Digests } from '../host/threadedDigest.js';
import {
  contentLength,
  errCode,
  exchange,
  looksLikeHtml,
  makeDispatcher,
  MAX_REDIRECTS,
  notAnImage,
  parseContentRange,
  PERMANENT,
  REDIRECT_CODES,
  RESTART,
  RETRY_STATUS,
  retryAfterMs,
  Transient,
} from './http.js';
import { PartWriter } from './partWriter.js';
import { algosFor, cancelled, DEFAULT_CONNECTIONS, discard, discardSync, finishPart, MAX_RETRY_DELAY_MS, partSize, PROGRESS_INTERVAL_MS, readMeta, transferSettings, type PartMeta } from './partFile.js';
import { rangeable, segmentCount, segmentedTransfer, type Rangeable } from './segmented.js';

export { looksLikeHtml } from './http.js';

/**
 * Download one URL to a file: http/https through undici (redirects, proxies
 * from the environment), retries with backoff that resume with Range/If-Range,
 * hashing while the bytes stream to `dest.part` (on a worker thread, which
 * reads each MiB back from the page cache as it is written), verification,
 * then an atomic rename to `dest`. A run that gives up keeps what it has for
 * the next run. From a server that takes Range requests, a big file comes in
 * several segments at once (see segmented.ts); otherwise in one stream.
 *
 * Files next to `dest` while a download is under way or interrupted:
 *  - `dest.part`       the bytes so far (never mistaken for a finished file);
 *  - `dest.part.json`  url, ETag, Last-Modified, total (and each segment's progress): what a later resume needs;
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
  /**
   * Parallel connections for a server that accepts Range requests (default 4;
   * 1: one stream). Each segment gets at least `minSegmentBytes`.
   */
  connections?: number;
  /** Smallest segment worth its own connection (default 16 MiB: a file under 32 MiB comes in one stream). */
  minSegmentBytes?: number;
  /**
   * How long the first stream runs before it may be split (default 1000 ms;
   * 0: segments at once). A stream at `fastStreamBytesPerSec` or more by
   * then stays one stream: more connections would not make it faster.
   */
  probeMs?: number;
  /** A single stream this fast is kept whole (default 128 MiB/s, about a full 1 GbE link). */
  fastStreamBytesPerSec?: number;
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
  const d = await hashFileThreaded(dest, algosFor(expected));
  if (expected && d[expected.algo] !== expected.hex.toLowerCase()) return undefined;
  return { path: dest, bytes: (await fsp.stat(dest)).size, sha256: d.sha256!, ...(d.sha512 ? { sha512: d.sha512 } : {}), resumed: false };
}


/** Leading bytes of an HTML page: true, false, or undefined while too few bytes are in. */


// ---------------------------------------------------------------- transfer





/** Thrown by the first stream: the file (or the rest of it) comes in segments instead. */
class Handoff {
  constructor(readonly ranges: Rangeable) {}
}

const DEFAULT_PROBE_MS = 1000;
const DEFAULT_FAST_STREAM = 128 << 20;

/** Where a download stands between attempts (and across runs, through the part file). */
interface State {
  /** Bytes in the part file, all of them hashed into `hashes` once that exists. */
  have: number;
  /** Hashes the part file as it grows (bytes [0, have) once they are flushed); undefined until the first attempt. */
  hashes: GrowingFileDigest | undefined;
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
  const { part, metaPath, log, idleMs, maxAttempts, baseDelay } = transferSettings(dest, opts);
  const probeMs = opts.probeMs ?? DEFAULT_PROBE_MS;

  // Resume only what we can trust: same URL, and a validator for If-Range
  // (or an expected digest, which catches a changed file at the end).
  const trusted = (m: PartMeta | undefined) => m !== undefined && m.url === url && (m.etag !== null || m.lastModified !== null || opts.expected !== undefined);
  let offset = await partSize(part);
  let meta = offset > 0 ? await readMeta(metaPath) : undefined;
  // A segmented part goes on in segments (or, if that cannot be, starts over in one stream).
  let segmentsOk = (opts.connections ?? DEFAULT_CONNECTIONS) > 1;
  if (offset > 0 && trusted(meta) && meta!.segments) {
    const done = await segmentedTransfer(url, dest, opts, { resume: meta! });
    if (done) return done;
    segmentsOk = false;
    offset = await partSize(part);
    meta = offset > 0 ? await readMeta(metaPath) : undefined;
  }
  if (meta?.segments) meta = undefined; // never resumed as one stream
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

  const startOver = () => {
    st.hashes?.stop();
    Object.assign(st, { have: 0, hashes: undefined, meta: undefined, fromEarlier: 0 });
  };

  /** One request. True when the body is complete; false to go again at once (the server refused the resume). */
  const attempt = async (dispatcher: Dispatcher): Promise<boolean> => {
    if (st.have > 0 && !st.hashes) {
      // What an earlier run left is hashed (on the worker) while the rest comes in.
      st.hashes = new GrowingFileDigest(part, algosFor(opts.expected));
      st.hashes.advance(st.have);
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
    let writer: PartWriter | undefined;
    // The first bytes of a fresh file are held back until they are known not to be HTML.
    let sniff: Buffer | undefined;
    // A file that could come in segments: once the stream has run `probeMs`, a slow one is split.
    let probe: { ranges: Rangeable; started: number } | undefined;
    const write = (buf: Buffer) => {
      writer!.push(buf);
      st.have = writer!.end;
      report(false);
      if (probe && performance.now() - probe.started >= probeMs) split();
    };
    const split = () => {
      const { ranges, started } = probe!;
      probe = undefined;
      const perSec = st.have / ((performance.now() - started) / 1000);
      if (perSec >= (opts.fastStreamBytesPerSec ?? DEFAULT_FAST_STREAM) || segmentCount(ranges.total - st.have, opts) < 2) return;
      log(`one stream runs at ${(perSec / 2 ** 20).toFixed(1)} MiB/s: the rest (from byte ${st.have}) comes in segments`);
      throw new Handoff(ranges);
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
        st.total = contentLength(h);
        const etag = typeof h.etag === 'string' ? h.etag : null;
        const strongEtag = etag && !etag.startsWith('W/') ? etag : null;
        const lastModified = typeof h['last-modified'] === 'string' ? h['last-modified'] : null;
        const ranges = segmentsOk ? rangeable(h, st.total, strongEtag, lastModified) : undefined;
        if (ranges && segmentCount(ranges.total, opts) >= 2) {
          if (probeMs <= 0) throw new Handoff(ranges);
          probe = { ranges, started: performance.now() };
        }
        st.meta = {
          url,
          // A weak ETag cannot validate a range request.
          etag: etag && !etag.startsWith('W/') ? etag : null,
          lastModified: typeof h['last-modified'] === 'string' ? h['last-modified'] : null,
          total: st.total,
        };
        writeFileSync(metaPath, JSON.stringify(st.meta) + '\n', { mode: 0o600 });
        fd = openSync(part, 'w', 0o600);
        st.hashes = new GrowingFileDigest(part, algosFor(opts.expected));
        sniff = Buffer.alloc(0);
      } else {
        st.total = range!.total ?? st.total;
        fd = openSync(part, 'r+');
        ftruncateSync(fd, st.have);
      }
      // In order from byte `have`: each 1 MiB batch is handed to the hash after its write.
      writer = new PartWriter(fd, st.have, st.hashes);
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
      // What arrived before a failure is good: it goes to the file for the resume.
      try {
        writer?.flush();
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
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
        if (e instanceof Handoff) {
          // Big, slow, and the server takes ranges: this connection is dropped and segments fetch the rest.
          const kept = st.have > 0 && st.hashes ? { have: st.have, hashes: st.hashes } : undefined;
          const done = await segmentedTransfer(url, dest, opts, { fresh: e.ranges, ...(kept ? { kept } : {}) });
          if (done) return done;
          segmentsOk = false;
          startOver();
          continue;
        }
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
  } catch (e) {
    st.hashes?.stop();
    throw e;
  } finally {
    await close().catch(() => {});
  }
  report(true);
  const hashes = st.hashes!;
  let digests: Digests;
  try {
    digests = await hashes.finish(st.have);
  } catch (e) {
    throw new ImageError('network', `Download of ${url} failed: ${part} changed while it was hashed (${(e as Error).message}).`, 'run it again');
  } finally {
    hashes.stop();
  }
  return finishPart({ url, dest, bytes: st.have, digests, expected: opts.expected, resumed: st.fromEarlier > 0, log });
}

