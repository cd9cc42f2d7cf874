import { closeSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GrowingFileDigest, type Digests } from '../../host/threadedDigest.js';
import { ImageError } from '../imageError.js';
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
  RETRY_STATUS,
  retryAfterMs,
  Transient,
  type Answer,
} from './http.js';
import {
  algosFor,
  cancelled,
  DEFAULT_CONNECTIONS,
  discard,
  discardSync,
  finishPart,
  MAX_RETRY_DELAY_MS,
  partSize,
  pause,
  Progress,
  readMeta,
  transferSettings,
} from './partFile.js';
import { PartWriter } from './partWriter.js';
import { rangeable, segmentCount, segmentedTransfer } from './segmented.js';
import type { DownloadOptions, DownloadResult, PartMeta, Rangeable } from './types.js';

/**
 * The transfer of one URL into `dest.part` and then `dest`, as a loop over
 * named steps. Each attempt is one request and ends in a step:
 *
 *  - complete  the body is all in (then: hash, verify, rename);
 *  - restart   the server refused the resume: go again at once from byte 0;
 *  - handoff   big, slow, and the server takes ranges: segments fetch the rest;
 *  - retry     the network failed (or a transient HTTP status): wait, resume;
 *
 * and a verdict (404, HTML, checksum, too many failures) is an ImageError.
 * A segmented part file from an earlier run goes on in segments first.
 */

const DEFAULT_PROBE_MS = 1000;
const DEFAULT_FAST_STREAM = 128 << 20;

/** How one attempt ended. */
type Step =
  | { kind: 'complete' }
  | { kind: 'restart' }
  | { kind: 'handoff'; ranges: Rangeable }
  | { kind: 'retry'; error: Transient };

/** Why a response handler stopped the exchange early. */
type Stop = { kind: 'restart' } | { kind: 'handoff'; ranges: Rangeable };

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

export async function transfer(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  checkUrl(url);
  const { part, metaPath, log } = transferSettings(dest, opts);
  // Resume only what we can trust: same URL, and a validator for If-Range
  // (or an expected digest, which catches a changed file at the end).
  const trusted = (m: PartMeta | undefined): m is PartMeta =>
    m !== undefined && m.url === url && (m.etag !== null || m.lastModified !== null || opts.expected !== undefined);
  let offset = await partSize(part);
  let meta = offset > 0 ? await readMeta(metaPath) : undefined;
  // A segmented part goes on in segments (or, if that cannot be, starts over in one stream).
  let segmentsOk = (opts.connections ?? DEFAULT_CONNECTIONS) > 1;
  if (offset > 0 && trusted(meta) && meta.segments) {
    const done = await segmentedTransfer(url, dest, opts, { resume: meta });
    if (done) return done;
    segmentsOk = false;
    offset = await partSize(part);
    meta = offset > 0 ? await readMeta(metaPath) : undefined;
  }
  if (meta?.segments) meta = undefined; // never resumed as one stream
  const st: State = { have: 0, hashes: undefined, meta: undefined, total: null, fromEarlier: 0, best: 0 };
  if (offset > 0 && trusted(meta))
    Object.assign(st, { have: offset, meta, total: meta.total, fromEarlier: offset, best: offset });
  else if (offset > 0) log(`discarding ${part}: it cannot be resumed safely`);
  return new StreamTransfer(url, dest, opts, st, segmentsOk, trusted).run();
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ImageError('bad_input', `${JSON.stringify(url)} is not a URL.`, {
      hint: 'give an http:// or https:// URL',
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ImageError('bad_input', `Cannot download ${url}: only http and https are supported.`, {
      hint: 'give an http:// or https:// URL',
    });
  }
}

/** The one-stream transfer: attempts until the body is complete, handed to segments, or given up. */
class StreamTransfer {
  readonly settings;
  readonly probeMs: number;
  readonly progress: Progress;
  /** Attempts in a row that brought no new bytes. */
  private failures = 0;
  private proxyNote = '';

  constructor(
    readonly url: string,
    readonly dest: string,
    readonly opts: DownloadOptions,
    readonly st: State,
    /** False once segments were tried and could not be: the rest comes in one stream. */
    public segmentsOk: boolean,
    readonly trusted: (m: PartMeta | undefined) => boolean,
  ) {
    this.settings = transferSettings(dest, opts);
    this.probeMs = opts.probeMs ?? DEFAULT_PROBE_MS;
    this.progress = new Progress(opts.onProgress, st.have);
  }

  report(force: boolean): void {
    this.progress.report(this.st.have, this.st.total, force);
  }

  startOver(): void {
    this.st.hashes?.stop();
    Object.assign(this.st, { have: 0, hashes: undefined, meta: undefined, fromEarlier: 0 });
  }

  async run(): Promise<DownloadResult> {
    const { dispatcher, close, proxied } = makeDispatcher(this.opts);
    this.proxyNote = proxied
      ? ' and the proxy (HTTP_PROXY/HTTPS_PROXY, NO_PROXY)'
      : ' (set HTTPS_PROXY/HTTP_PROXY if you need a proxy)';
    try {
      for (;;) {
        if (this.opts.signal?.aborted) throw cancelled(this.url);
        const bestBefore = this.st.best;
        const step = await this.attempt(dispatcher);
        if (step.kind === 'complete') break;
        if (step.kind === 'handoff') {
          const done = await this.handOff(step.ranges);
          if (done) return done;
        } else if (step.kind === 'retry') {
          await this.retry(step.error, bestBefore);
        }
      }
    } catch (e) {
      this.st.hashes?.stop();
      throw e;
    } finally {
      await close().catch(() => {});
    }
    return this.finish();
  }

  /** One request: how it ended. Verdicts (404, HTML, a local file system error) are thrown. */
  private async attempt(dispatcher: Dispatcher): Promise<Step> {
    const { st } = this;
    if (st.have > 0 && !st.hashes) {
      // What an earlier run left is hashed (on the worker) while the rest comes in.
      st.hashes = new GrowingFileDigest(this.settings.part, algosFor(this.opts.expected));
      st.hashes.advance(st.have);
    }
    const body = new StreamBody(this);
    let stop: Stop | undefined;
    try {
      stop = await exchange(dispatcher, this.url, this.headers(), this.opts.signal, this.settings.idleMs, (...a) =>
        body.answer(...a),
      );
      stop ??= body.end();
    } catch (e) {
      if (this.opts.signal?.aborted) throw cancelled(this.url);
      if (e instanceof ImageError && e.code === 'not_an_image') discardSync(this.settings.part, this.settings.metaPath);
      if (e instanceof Transient) return { kind: 'retry', error: e };
      throw e;
    } finally {
      body.close();
    }
    if (stop?.kind === 'restart') this.startOver();
    if (stop) return stop;
    if (this.opts.signal?.aborted) throw cancelled(this.url);
    if (st.total !== null && st.have < st.total) {
      return {
        kind: 'retry',
        error: new Transient(`the server closed the connection at ${st.have} of ${st.total} bytes`),
      };
    }
    return { kind: 'complete' };
  }

  private headers(): Record<string, string> {
    const { st, url } = this;
    const headers: Record<string, string> = { 'user-agent': 'vmlab', 'accept-encoding': 'identity', accept: '*/*' };
    if (st.have > 0) {
      headers.range = `bytes=${st.have}-`;
      const validator = st.meta?.etag ?? st.meta?.lastModified ?? null;
      if (validator) headers['if-range'] = validator;
      this.settings.log(`resuming ${url} at byte ${st.have}`);
    } else {
      this.settings.log(`GET ${url}`);
    }
    return headers;
  }

  /** This connection is dropped and segments fetch the rest; undefined when they cannot (one stream goes on). */
  private async handOff(ranges: Rangeable): Promise<DownloadResult | undefined> {
    const { st } = this;
    const kept = st.have > 0 && st.hashes ? { have: st.have, hashes: st.hashes } : undefined;
    const done = await segmentedTransfer(this.url, this.dest, this.opts, { fresh: ranges, ...(kept ? { kept } : {}) });
    if (done) return done;
    this.segmentsOk = false;
    this.startOver();
    return undefined;
  }

  /** Wait before the next attempt, or give up with an ImageError. */
  private async retry(e: Transient, bestBefore: number): Promise<void> {
    const { st, url, settings } = this;
    const { part, maxAttempts } = settings;
    st.best = Math.max(st.best, st.have);
    this.failures = st.have > bestBefore ? 1 : this.failures + 1;
    const permanent = e.cause !== undefined && PERMANENT.test(errCode(e.cause) ?? '');
    const resumable = st.have > 0 && this.trusted(st.meta);
    if (permanent || this.failures >= maxAttempts) {
      if (!resumable) await discard(part, settings.metaPath);
      throw this.givenUp(e, permanent, resumable);
    }
    if (!resumable) this.startOver();
    const wait = Math.min(e.retryAfterMs ?? settings.baseDelay * 2 ** (this.failures - 1), MAX_RETRY_DELAY_MS);
    const next = resumable ? `resuming at byte ${st.have}` : 'starting again';
    settings.log(
      `${e.message}; ${next} in ${(wait / 1000).toFixed(1)} s (attempt ${this.failures + 1} of ${maxAttempts})`,
    );
    if (!(await pause(wait, this.opts.signal))) throw cancelled(url);
  }

  private givenUp(e: Transient, permanent: boolean, resumable: boolean): ImageError {
    const { st, url, proxyNote } = this;
    const { part, maxAttempts } = this.settings;
    const got = `${st.have}${st.total !== null ? ` of ${st.total}` : ''} bytes received`;
    if (permanent || maxAttempts === 1) {
      return new ImageError('network', `Download of ${url} failed: ${e.message}${resumable ? ` (${got})` : ''}.`, {
        hint: resumable
          ? `${st.have} bytes are kept in ${part}; run it again to resume`
          : `check the network${proxyNote} and the URL, then run it again`,
      });
    }
    return new ImageError(
      'network',
      `Download of ${url} failed after ${this.failures} attempts: ${e.message}; ${got}.`,
      {
        hint: resumable
          ? `${st.have} bytes are kept in ${part}: run the same command again to resume; check the network${proxyNote}`
          : `check the network${proxyNote} and the URL, then run it again`,
      },
    );
  }

  /** The body is complete: the hash, the checks, the rename. */
  private async finish(): Promise<DownloadResult> {
    const { st, url, settings } = this;
    this.report(true);
    const hashes = st.hashes!;
    let digests: Digests;
    try {
      digests = await hashes.finish(st.have);
    } catch (e) {
      throw new ImageError(
        'network',
        `Download of ${url} failed: ${settings.part} changed while it was hashed (${(e as Error).message}).`,
        { hint: 'run it again' },
      );
    } finally {
      hashes.stop();
    }
    return finishPart({
      url,
      dest: this.dest,
      bytes: st.have,
      digests,
      expected: this.opts.expected,
      resumed: st.fromEarlier > 0,
      log: settings.log,
    });
  }
}

/** One response of the one stream: judged, then its body written (and hashed) into the part file. */
class StreamBody {
  private fd: number | undefined;
  private writer: PartWriter | undefined;
  /** The first bytes of a fresh file, held back until they are known not to be HTML. */
  private sniff: Buffer | undefined;
  /** A file that could come in segments: once the stream has run `probeMs`, a slow one is split. */
  private probe: { ranges: Rangeable; started: number } | undefined;

  constructor(private readonly t: StreamTransfer) {}

  /** Headers are in: judge the answer, get the part file ready, and take the body. */
  answer(status: number, statusText: string, h: IncomingHttpHeaders, history: URL[]): Answer<Stop> {
    const { t } = this;
    const { st, url } = t;
    const { part, metaPath, log } = t.settings;
    if (history.length > 1)
      log(`followed ${history.length - 1} redirect(s): ${history.map((u) => u.href).join(' → ')}`);
    if (REDIRECT_CODES.has(status))
      throw new ImageError('http', `Download of ${url} failed: more than ${MAX_REDIRECTS} redirects.`, {
        hint: 'the server redirects in a loop; check the URL',
      });
    const range = status === 206 ? parseContentRange(h['content-range']) : null;
    if (st.have > 0 && (status === 416 || (status === 206 && range?.start !== st.have))) {
      // The part does not fit what the server has now: start over.
      log(`server refused the resume (HTTP ${status}); starting over`);
      return { stop: { kind: 'restart' } };
    }
    if (status === 404 || status === 410) {
      discardSync(part, metaPath);
      throw new ImageError('not_found', `${url} was not found (HTTP ${status}).`, {
        hint: 'check the URL; the image may have been moved or replaced by a newer release',
      });
    }
    if (RETRY_STATUS.has(status))
      throw new Transient(`HTTP ${status} ${statusText}`.trimEnd(), undefined, retryAfterMs(h));
    if (status !== 200 && !(status === 206 && range)) {
      if (!(st.have > 0 && t.trusted(st.meta))) discardSync(part, metaPath);
      throw new ImageError('http', `Download of ${url} failed: HTTP ${status} ${statusText}`.trimEnd() + '.', {
        hint: 'try again later, or check the URL',
      });
    }
    const contentType = String(h['content-type'] ?? '').toLowerCase();
    if (/^\s*text\/html\b/.test(contentType)) {
      discardSync(part, metaPath);
      throw notAnImage(url, `the server sent ${contentType.split(';')[0]}`);
    }
    if (status === 200) {
      const handoff = this.openFresh(h);
      if (handoff) return { stop: handoff };
    } else {
      st.total = range!.total ?? st.total;
      this.fd = openSync(part, 'r+');
      ftruncateSync(this.fd, st.have);
    }
    // In order from byte `have`: each 1 MiB batch is handed to the hash after its write.
    this.writer = new PartWriter(this.fd!, st.have, st.hashes);
    return { body: (chunk) => this.take(chunk) };
  }

  /** A 200: the whole file comes (again) from byte 0, in this stream or, at once, in segments. */
  private openFresh(h: IncomingHttpHeaders): Stop | undefined {
    const { t } = this;
    const { st, url } = t;
    if (st.have > 0) t.settings.log(`server sent the whole file (HTTP 200); starting over`);
    t.startOver();
    st.total = contentLength(h);
    const etag = typeof h.etag === 'string' ? h.etag : null;
    // A weak ETag cannot validate a range request.
    const strongEtag = etag && !etag.startsWith('W/') ? etag : null;
    const lastModified = typeof h['last-modified'] === 'string' ? h['last-modified'] : null;
    const ranges = t.segmentsOk ? rangeable(h, st.total, strongEtag, lastModified) : undefined;
    if (ranges && segmentCount(ranges.total, t.opts) >= 2) {
      if (t.probeMs <= 0) return { kind: 'handoff', ranges };
      this.probe = { ranges, started: performance.now() };
    }
    st.meta = { url, etag: strongEtag, lastModified, total: st.total };
    writeFileSync(t.settings.metaPath, JSON.stringify(st.meta) + '\n', { mode: 0o600 });
    this.fd = openSync(t.settings.part, 'w', 0o600);
    st.hashes = new GrowingFileDigest(t.settings.part, algosFor(t.opts.expected));
    this.sniff = Buffer.alloc(0);
    return undefined;
  }

  private take(chunk: Buffer): Stop | undefined {
    if (!this.sniff) return this.write(chunk);
    const buf = Buffer.concat([this.sniff, chunk]);
    const verdict = looksLikeHtml(buf);
    if (verdict === undefined && buf.length < 1024) {
      this.sniff = buf;
      return undefined;
    }
    this.sniff = undefined;
    if (verdict === true) throw notAnImage(this.t.url, 'the body is an HTML page');
    return this.write(buf);
  }

  private write(buf: Buffer): Stop | undefined {
    const { st } = this.t;
    this.writer!.push(buf);
    st.have = this.writer!.end;
    this.t.report(false);
    if (this.probe && performance.now() - this.probe.started >= this.t.probeMs) return this.split();
    return undefined;
  }

  /** The probe ran out: a slow stream hands the rest to segments. */
  private split(): Stop | undefined {
    const { t } = this;
    const { ranges, started } = this.probe!;
    this.probe = undefined;
    const perSec = t.st.have / ((performance.now() - started) / 1000);
    if (
      perSec >= (t.opts.fastStreamBytesPerSec ?? DEFAULT_FAST_STREAM) ||
      segmentCount(ranges.total - t.st.have, t.opts) < 2
    )
      return undefined;
    t.settings.log(
      `one stream runs at ${(perSec / 2 ** 20).toFixed(1)} MiB/s: the rest (from byte ${t.st.have}) comes in segments`,
    );
    return { kind: 'handoff', ranges };
  }

  /** The body is complete: bytes still held back for the sniff go in now. */
  end(): Stop | undefined {
    if (!this.sniff?.length) return undefined;
    if (looksLikeHtml(this.sniff)) throw notAnImage(this.t.url, 'the body is an HTML page');
    const buf = this.sniff;
    this.sniff = undefined;
    return this.write(buf);
  }

  /** What arrived before a failure is good: it goes to the file for the resume. */
  close(): void {
    try {
      this.writer?.flush();
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
    }
  }
}
