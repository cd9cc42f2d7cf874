import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, resolve } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Checksum } from './checksums.js';
import { ImageError } from './imageError.js';
import { isAlive } from '../lab/processes.js';

/**
 * Download one URL to a file: http/https, redirects, resume, hashing while the
 * bytes stream to `dest.part`, verification, then an atomic rename to `dest`.
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
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

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

/** Pass-through that hashes and counts every chunk, and refuses a body that is an HTML page. */
class HashingPassThrough extends Transform {
  private sniffing: boolean;
  private sniffed: Buffer | undefined;
  constructor(
    private readonly hashes: Hashes,
    private readonly onBytes: (n: number) => void,
    sniff: boolean,
    private readonly url: string,
  ) {
    super({ highWaterMark: HWM });
    this.sniffing = sniff;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.sniffing) {
      const buf = this.sniffed ? Buffer.concat([this.sniffed, chunk]) : chunk;
      const verdict = looksLikeHtml(buf);
      if (verdict === undefined && buf.length < 1024) {
        this.sniffed = buf;
        return cb();
      }
      this.sniffing = false;
      this.sniffed = undefined;
      if (verdict === true) return cb(notAnImage(this.url, 'the body is an HTML page'));
      chunk = buf;
    }
    this.hashes.update(chunk);
    this.onBytes(chunk.length);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.sniffed) {
      const buf = this.sniffed;
      this.sniffed = undefined;
      if (looksLikeHtml(buf)) return cb(notAnImage(this.url, 'the body is an HTML page'));
      this.hashes.update(buf);
      this.onBytes(buf.length);
      this.push(buf);
    }
    cb();
  }
}

function notAnImage(url: string, why: string): ImageError {
  return new ImageError(
    'not-an-image',
    `${url} is not an image: ${why}.`,
    'the URL probably points to a download page or a login/error page; use the direct link to the image file',
  );
}

// ---------------------------------------------------------------- HTTP

interface Opened {
  res: http.IncomingMessage;
  finalUrl: string;
}

function networkError(url: string, err: unknown): ImageError {
  const e = err as NodeJS.ErrnoException;
  const what = e?.code && !String(e.message).includes(e.code) ? `${e.message} (${e.code})` : String(e?.message ?? err);
  return new ImageError('network', `Download of ${url} failed: ${what}.`, 'check the network and the URL, then run it again');
}

function get(url: URL, headers: Record<string, string>, opts: DownloadOptions): Promise<http.IncomingMessage> {
  return new Promise((resolveRes, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.get(
      url,
      {
        headers,
        signal: opts.signal,
        ...(url.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}),
      },
      resolveRes,
    );
    req.setTimeout(opts.idleTimeoutMs ?? 60_000, () => req.destroy(new Error(`no data for ${Math.round((opts.idleTimeoutMs ?? 60_000) / 1000)} s`)));
    req.on('error', reject);
  });
}

/** GET with redirects followed; any error comes back as an ImageError. */
async function open(url: string, headers: Record<string, string>, opts: DownloadOptions): Promise<Opened> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new ImageError('bad-input', `${JSON.stringify(url)} is not a URL.`, 'give an http:// or https:// URL');
  }
  for (let hops = 0; ; hops++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw new ImageError('bad-input', `Cannot download ${current.href}: only http and https are supported.`);
    }
    let res: http.IncomingMessage;
    try {
      res = await get(current, headers, opts);
    } catch (e) {
      if (opts.signal?.aborted) throw cancelled(url);
      throw networkError(current.href, e);
    }
    const status = res.statusCode ?? 0;
    if (REDIRECT_CODES.has(status) && res.headers.location) {
      res.resume();
      if (hops >= MAX_REDIRECTS) {
        throw new ImageError('http', `Download of ${url} failed: more than ${MAX_REDIRECTS} redirects.`, 'the server redirects in a loop; check the URL');
      }
      const next = new URL(res.headers.location, current);
      opts.log?.(`${status} redirect to ${next.href}`);
      current = next;
      continue;
    }
    return { res, finalUrl: current.href };
  }
}

function httpError(url: string, res: http.IncomingMessage): ImageError {
  res.resume();
  const status = res.statusCode ?? 0;
  if (status === 404 || status === 410) {
    return new ImageError('not-found', `${url} was not found (HTTP ${status}).`, 'check the URL; the image may have been moved or replaced by a newer release');
  }
  return new ImageError('http', `Download of ${url} failed: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() + '.', 'try again later, or check the URL');
}

function parseTotal(res: http.IncomingMessage): { start: number; total: number | null } | null {
  if (res.statusCode === 206) {
    const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(String(res.headers['content-range'] ?? '').trim());
    if (!m) return null;
    return { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) };
  }
  const len = res.headers['content-length'];
  return { start: 0, total: len !== undefined && /^\d+$/.test(len) ? Number(len) : null };
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

async function transfer(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const metaPath = `${dest}.part.json`;
  const log = opts.log ?? (() => {});

  // Resume only what we can trust: same URL, and a validator for If-Range
  // (or an expected digest, which catches a changed file at the end).
  let offset = await partSize(part);
  const meta = offset > 0 ? await readMeta(metaPath) : undefined;
  const validator = meta?.etag ?? meta?.lastModified ?? null;
  const canResume = offset > 0 && meta !== undefined && meta.url === url && (validator !== null || opts.expected !== undefined);
  if (offset > 0 && !canResume) {
    log(`discarding ${part}: it cannot be resumed safely`);
    offset = 0;
  }

  const headers: Record<string, string> = { 'user-agent': 'vmlab', 'accept-encoding': 'identity', accept: '*/*' };
  if (canResume) {
    headers.range = `bytes=${offset}-`;
    if (validator) headers['if-range'] = validator;
    log(`resuming ${url} at byte ${offset}`);
  } else {
    log(`GET ${url}`);
  }

  let { res, finalUrl } = await open(url, headers, opts);
  let range = res.statusCode === 206 ? parseTotal(res) : null;

  if (canResume && (res.statusCode === 416 || (res.statusCode === 206 && (!range || range.start !== offset)))) {
    // The part does not fit what the server has now: start over.
    log(`server refused the resume (HTTP ${res.statusCode}); starting over`);
    res.resume();
    delete headers.range;
    delete headers['if-range'];
    ({ res, finalUrl } = await open(url, headers, opts));
    range = null;
  }

  const status = res.statusCode ?? 0;
  if (status !== 200 && status !== 206) {
    if (status === 404 || status === 410 || !canResume) await discard(part, metaPath);
    throw httpError(url, res);
  }
  const contentType = String(res.headers['content-type'] ?? '').toLowerCase();
  if (/^\s*text\/html\b/.test(contentType)) {
    res.resume();
    await discard(part, metaPath);
    throw notAnImage(url, `the server sent ${contentType.split(';')[0]}`);
  }

  const resumed = status === 206;
  if (!resumed) {
    if (offset > 0) log(`server sent the whole file (HTTP ${status}); starting over`);
    offset = 0;
  }
  const total = resumed ? (range?.total ?? null) : (parseTotal(res)?.total ?? null);

  const hashes = new Hashes(opts.expected);
  if (resumed) {
    // Re-hash what is already on disk, then continue with the new bytes.
    let onDisk = 0;
    for await (const chunk of createReadStream(part, { highWaterMark: HWM, end: offset - 1 })) {
      hashes.update(chunk as Buffer);
      onDisk += (chunk as Buffer).length;
    }
    if (onDisk !== offset) {
      res.destroy();
      throw new ImageError('network', `Download of ${url} failed: ${part} changed while resuming.`, 'run it again');
    }
  } else {
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : null;
    // A weak ETag cannot validate a range request.
    const newMeta: PartMeta = {
      url,
      etag: etag && !etag.startsWith('W/') ? etag : null,
      lastModified: typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : null,
      total,
    };
    await fsp.writeFile(metaPath, JSON.stringify(newMeta) + '\n');
  }
  if (finalUrl !== url) log(`downloading from ${finalUrl}`);

  // Progress: bytes so far (with the resumed prefix), speed of this transfer.
  let bytes = offset;
  const started = Date.now();
  let lastReport = 0;
  const report = (force: boolean) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    const secs = (now - started) / 1000;
    const bytesPerSec = secs > 0 ? (bytes - offset) / secs : 0;
    const etaSec = total !== null && bytesPerSec > 0 ? Math.max(0, (total - bytes) / bytesPerSec) : null;
    opts.onProgress({ bytes, total, bytesPerSec, etaSec });
  };
  const onBytes = (n: number) => {
    bytes += n;
    report(false);
  };

  const out = createWriteStream(part, { flags: resumed ? 'a' : 'w', highWaterMark: HWM });
  const tap = new HashingPassThrough(hashes, onBytes, !resumed, url);
  try {
    await pipeline(res, tap, out, ...(opts.signal ? [{ signal: opts.signal }] : []));
  } catch (e) {
    // Let the write stream finish what it has so the part file is consistent.
    if (!out.closed) await new Promise<void>((r) => out.once('close', () => r()));
    if (e instanceof ImageError) {
      await discard(part, metaPath);
      throw e;
    }
    if (opts.signal?.aborted) throw cancelled(url);
    if ((e as NodeJS.ErrnoException).syscall && !['read', 'connect'].includes((e as NodeJS.ErrnoException).syscall!)) {
      throw e; // a local file system error (write, open): not the network's fault
    }
    const kept = await partSize(part);
    const m = await readMeta(metaPath);
    const resumable = kept > 0 && m !== undefined && (m.etag !== null || m.lastModified !== null || opts.expected !== undefined);
    if (!resumable) await discard(part, metaPath);
    const err = networkError(url, e);
    throw resumable ? new ImageError('network', err.message, `${kept} bytes are kept in ${part}; run it again to resume`) : err;
  }
  report(true);

  if (total !== null && bytes !== total) {
    throw new ImageError('network', `Download of ${url} failed: got ${bytes} of ${total} bytes.`, `run it again to resume from ${part}`);
  }

  const digests = hashes.digest();
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
  log(`saved ${dest} (${bytes} bytes${resumed ? ', resumed' : ''})`);
  return { path: dest, bytes, sha256: digests.sha256, ...(digests.sha512 ? { sha512: digests.sha512 } : {}), resumed };
}
