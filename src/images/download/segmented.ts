import { closeSync, ftruncateSync, openSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { GrowingFileDigest, type Digests } from '../../host/threadedDigest.js';
import { ImageError } from '../imageError.js';
import {
  errCode,
  exchange,
  looksLikeHtml,
  makeDispatcher,
  notAnImage,
  parseContentRange,
  PERMANENT,
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
  pause,
  Progress,
  transferSettings,
  writeMeta,
} from './partFile.js';
import { PartWriter } from './partWriter.js';
import type { DownloadOptions, DownloadResult, PartMeta, Rangeable, Segment } from './types.js';

/**
 * A segmented download: the file is cut into N segments fetched in parallel
 * over their own connections with `Range: bytes=a-b` (and If-Range), each
 * written in place into a part file of the full size. `dest.part.json`
 * records each segment's progress (written after its bytes are, so kill -9
 * never overstates it), so every segment resumes on its own, in this run
 * after a dropped connection and in the next one after a crash. The hash
 * runs on a worker thread over the contiguous prefix as it grows (segment 1,
 * then 2 as soon as 1 is complete, …): one read back from the page cache.
 *
 * The first request of a download is a plain GET (transfer.ts): when its
 * 200 says the server takes ranges (`Accept-Ranges: bytes`, a length, a
 * strong validator) and the file is big enough for two segments of at least
 * `minSegmentBytes`, that connection is dropped and the segments start; a
 * small file, or a server without ranges, costs no extra request.
 */

const DEFAULT_MIN_SEGMENT = 16 << 20;
const META_INTERVAL_MS = 1000;

/** Cut [from, total) into n segments on MiB boundaries (from `from`); bytes before `from` are one finished segment. */
export function planSegments(total: number, n: number, from = 0): Segment[] {
  const step = Math.ceil((total - from) / n / (1 << 20)) * (1 << 20);
  const out: Segment[] = from > 0 ? [{ start: 0, end: from, done: from }] : [];
  for (let start = from; start < total; start += step) out.push({ start, end: Math.min(total, start + step), done: 0 });
  return out;
}

/**
 * Where the first stream stopped when it was handed over: its bytes [0, have)
 * are in the part file, and `hashes` has been given them.
 */
export interface Kept {
  have: number;
  hashes: GrowingFileDigest;
}

/** How a segmented download starts: fresh from the first answer, or resumed from a segmented part file. */
export type SegmentedStart = { resume: PartMeta } | { fresh: Rangeable; kept?: Kept };

/**
 * True when a 200 answer to a plain GET says the file can come in segments:
 * `Accept-Ranges: bytes`, a length, and a strong validator for If-Range.
 */
export function rangeable(
  h: IncomingHttpHeaders,
  total: number | null,
  etag: string | null,
  lastModified: string | null,
): Rangeable | undefined {
  if (String(h['accept-ranges'] ?? '').toLowerCase() !== 'bytes' || total === null || (!etag && !lastModified))
    return undefined;
  return { total, etag, lastModified };
}

/** How many segments `total` bytes (a file, or what is left of it) get (below 2: one stream). */
export function segmentCount(total: number, opts: DownloadOptions): number {
  const n = Math.floor(total / (opts.minSegmentBytes ?? DEFAULT_MIN_SEGMENT));
  return Math.min(Math.max(1, opts.connections ?? DEFAULT_CONNECTIONS), n);
}

/**
 * Fetch `url` in segments: a fresh start (`start` is what the first answer
 * said) or the resume of a segmented part file (`start` is its state).
 * Undefined when the server turns out not to honour ranges for this file:
 * the caller then streams it whole.
 */
export async function segmentedTransfer(
  url: string,
  dest: string,
  opts: DownloadOptions,
  start: SegmentedStart,
): Promise<DownloadResult | undefined> {
  const opened = await openPart(url, dest, opts, start);
  if (!opened) return undefined;
  // The first stream's hash goes on where it was; otherwise the prefix a resume kept is read back.
  const hasher =
    'fresh' in start && start.kept ? start.kept.hashes : new GrowingFileDigest(`${dest}.part`, algosFor(opts.expected));
  const run = new SegmentedRun(url, dest, opts, opened.meta, opened.fd, hasher, 'resume' in start);
  try {
    return await run.run();
  } finally {
    await run.close();
  }
}

/** The part file opened for segments and its state; undefined when a resumed state does not fit together. */
async function openPart(
  url: string,
  dest: string,
  opts: DownloadOptions,
  start: SegmentedStart,
): Promise<{ meta: PartMeta; fd: number } | undefined> {
  const { part, metaPath, log } = transferSettings(dest, opts);
  if ('resume' in start) {
    const meta = start.resume;
    const segs = meta.segments;
    const fits =
      segs?.length &&
      meta.total !== null &&
      segs[0]!.start === 0 &&
      segs.at(-1)!.end === meta.total &&
      segs.every((s, i) => i === 0 || s.start === segs[i - 1]!.end);
    if (!fits) {
      log(`discarding ${part}: its segment state does not fit together`);
      await discard(part, metaPath);
      return undefined;
    }
    log(`resuming ${url}: ${segs.filter((s) => s.done < s.end - s.start).length} of ${segs.length} segments to go`);
    return { meta, fd: openSync(part, 'r+') };
  }
  const p = start.fresh;
  const from = start.kept?.have ?? 0;
  const meta: PartMeta = {
    url,
    etag: p.etag,
    lastModified: p.lastModified,
    total: p.total,
    segments: planSegments(p.total, segmentCount(p.total - from, opts), from),
  };
  const fresh = meta.segments!.filter((s) => s.done === 0);
  const size = mib(fresh[0]!.end - fresh[0]!.start);
  log(`GET ${url}${from ? ` from byte ${from}` : ''} in ${fresh.length} segments of ${size} MiB`);
  // The first stream's bytes stay (the file grows to its full size); a fresh start has none.
  const fd = openSync(part, from ? 'r+' : 'w', 0o600);
  ftruncateSync(fd, p.total);
  writeMeta(metaPath, meta);
  return { meta, fd };
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** The file changed on the server under a segmented download (or its ranges are not what they said): start over. */
type Changed = 'changed';

/** One segmented download under way: its segments, their connections, and the hash of the contiguous prefix. */
class SegmentedRun {
  private readonly settings;
  private readonly segs: Segment[];
  private readonly total: number;
  private readonly validator: string | null;
  private readonly dispatcher;
  private readonly closeDispatcher: () => Promise<void>;
  private readonly abort = new AbortController();
  private readonly onAbort = () => this.abort.abort(this.opts.signal?.reason);
  private readonly progress: Progress;
  /** Bytes kept from an earlier run (a first stream's are this run's). */
  private readonly fromEarlier: number;
  private lastMeta = Date.now();
  private fd: number | undefined;

  constructor(
    private readonly url: string,
    private readonly dest: string,
    private readonly opts: DownloadOptions,
    private readonly meta: PartMeta,
    fd: number,
    private readonly hasher: GrowingFileDigest,
    resumed: boolean,
  ) {
    this.settings = transferSettings(dest, opts);
    this.segs = meta.segments!;
    this.total = meta.total!;
    this.validator = meta.etag ?? meta.lastModified;
    this.fd = fd;
    ({ dispatcher: this.dispatcher, close: this.closeDispatcher } = makeDispatcher(opts));
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    hasher.advance(this.prefix());
    const atStart = this.have();
    this.fromEarlier = resumed ? atStart : 0;
    this.progress = new Progress(opts.onProgress, atStart);
  }

  /** End of the contiguous finished prefix: what the hash may read up to. */
  private prefix(): number {
    for (const s of this.segs) if (s.done < s.end - s.start) return s.start + s.done;
    return this.total;
  }

  private have(): number {
    return this.segs.reduce((a, s) => a + s.done, 0);
  }

  private report(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastMeta >= META_INTERVAL_MS) {
      this.lastMeta = now;
      writeMeta(this.settings.metaPath, this.meta);
    }
    this.progress.report(this.have(), this.total, force);
  }

  /** Every segment to its end (or a verdict), then the checks and the rename. */
  async run(): Promise<DownloadResult | undefined> {
    const { url, settings } = this;
    const errors = await this.runAll();
    writeMeta(settings.metaPath, this.meta);
    if (this.opts.signal?.aborted) throw cancelled(url);
    const verdict = errors.find((e) => !(e instanceof Transient));
    if (verdict === 'changed') {
      settings.log(
        `${url} changed on the server (or did not honour a range) during a segmented download; ` +
          'starting over in one stream',
      );
      this.hasher.stop();
      this.closeFile();
      await discard(settings.part, settings.metaPath);
      return undefined;
    }
    if (verdict !== undefined) {
      if (verdict instanceof ImageError && ['not_found', 'not_an_image'].includes(verdict.code))
        discardSync(settings.part, settings.metaPath);
      throw verdict;
    }
    if (errors.length) {
      const e = errors[0] as Transient;
      const bytes = this.have();
      throw new ImageError(
        'network',
        `Download of ${url} failed: ${e.message} (${bytes} of ${this.total} bytes received, ` +
          `${errors.length} of ${this.segs.length} segments unfinished).`,
        {
          hint:
            `${bytes} bytes are kept in ${settings.part}: ` +
            'run the same command again to resume the unfinished segments; ' +
            'check the network',
        },
      );
    }
    this.report(true);
    let digests: Digests;
    try {
      digests = await this.hasher.finish(this.total);
    } catch (e) {
      throw new ImageError(
        'network',
        `Download of ${url} failed: ${settings.part} changed while it was hashed (${(e as Error).message}).`,
        { hint: 'run it again' },
      );
    }
    this.closeFile();
    return await finishPart({
      url,
      dest: this.dest,
      bytes: this.total,
      digests,
      expected: this.opts.expected,
      resumed: this.fromEarlier > 0,
      log: settings.log,
    });
  }

  /**
   * At most `connections` segments at once (a resume may have more segments
   * than connections asked). What stopped segments, in order: failures, and
   * 'changed'.
   */
  private async runAll(): Promise<unknown[]> {
    const connections = Math.max(1, this.opts.connections ?? DEFAULT_CONNECTIONS);
    const queue = this.segs.filter((s) => s.done < s.end - s.start);
    const errors: unknown[] = [];
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        try {
          if ((await this.runSegment(s)) === 'changed') {
            errors.push('changed');
            this.abort.abort(new Error('changed'));
          }
        } catch (e) {
          errors.push(e);
          // A verdict stops every segment; a segment that ran out of attempts lets the others finish.
          if (!(e instanceof Transient)) this.abort.abort(e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(connections, queue.length) }, worker));
    return errors;
  }

  /** A segment to its end: retries resume it where it stopped, and only it. Throws its last failure. */
  private async runSegment(s: Segment): Promise<Changed | undefined> {
    const { maxAttempts, baseDelay, log } = this.settings;
    let failures = 0;
    while (s.done < s.end - s.start) {
      if (this.abort.signal.aborted) return undefined;
      const before = s.done;
      let outcome: Changed | Transient | undefined;
      try {
        outcome = await this.attempt(s);
      } catch (e) {
        if (this.abort.signal.aborted) return undefined;
        if (!(e instanceof Transient)) throw e;
        outcome = e;
      }
      if (outcome === 'changed') return outcome;
      if (outcome === undefined) continue;
      if (this.abort.signal.aborted) return undefined;
      failures = s.done > before ? 1 : failures + 1;
      if ((outcome.cause !== undefined && PERMANENT.test(errCode(outcome.cause) ?? '')) || failures >= maxAttempts)
        throw outcome;
      const wait = Math.min(outcome.retryAfterMs ?? baseDelay * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
      log(
        `${outcome.message}; resuming that segment at byte ${s.start + s.done} in ${(wait / 1000).toFixed(1)} s ` +
          `(attempt ${failures + 1} of ${maxAttempts})`,
      );
      await pause(wait, this.abort.signal);
    }
    return undefined;
  }

  /** One request for the rest of a segment: undefined when it is complete. */
  private async attempt(s: Segment): Promise<Changed | Transient | undefined> {
    const from = s.start + s.done;
    const headers: Record<string, string> = {
      'user-agent': 'vmlab',
      'accept-encoding': 'identity',
      accept: '*/*',
      range: `bytes=${from}-${s.end - 1}`,
    };
    if (this.validator) headers['if-range'] = this.validator;
    const writer = new PartWriter(this.fd!, from);
    // Only bytes in the file count as done: the hash reads them back,
    // and the saved state must not run ahead of the file.
    const took = () => {
      s.done = writer.at - s.start;
      this.hasher.advance(this.prefix());
    };
    let outcome: Changed | undefined;
    try {
      outcome = await exchange(
        this.dispatcher,
        this.url,
        headers,
        this.abort.signal,
        this.settings.idleMs,
        (status, statusText, h) => this.answer(s, writer, from, status, statusText, h, took),
      );
    } finally {
      writer.flush();
      took();
    }
    if (outcome) return outcome;
    if (s.done < s.end - s.start)
      return new Transient(
        `the server closed the connection at byte ${s.start + s.done} of segment ${s.start}-${s.end - 1}`,
      );
    return undefined;
  }

  /** Judge a segment's answer: its body goes into the segment, or why not. */
  private answer(
    s: Segment,
    writer: PartWriter,
    from: number,
    status: number,
    statusText: string,
    h: IncomingHttpHeaders,
    took: () => void,
  ): Answer<Changed> {
    const url = this.url;
    if (status === 206) {
      const r = parseContentRange(h['content-range']);
      if (r?.start === from && r.total === this.total) {
        return {
          body: (chunk) => {
            if (s.start === 0 && writer.end === 0 && looksLikeHtml(chunk) === true)
              throw notAnImage(url, 'the body is an HTML page');
            const room = s.end - writer.end;
            if (writer.push(chunk.length > room ? chunk.subarray(0, room) : chunk)) {
              took();
              this.report(false);
            }
            return undefined;
          },
        };
      }
    }
    if (status === 200 || status === 416 || status === 206) return { stop: 'changed' };
    if (status === 404 || status === 410)
      throw new ImageError('not_found', `${url} was not found (HTTP ${status}).`, {
        hint: 'check the URL; the image may have been moved or replaced by a newer release',
      });
    if (RETRY_STATUS.has(status))
      throw new Transient(`HTTP ${status} ${statusText}`.trimEnd(), undefined, retryAfterMs(h));
    throw new ImageError('http', `Download of ${url} failed: HTTP ${status} ${statusText}`.trimEnd() + '.', {
      hint: 'try again later, or check the URL',
    });
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Whatever happened: the hash thread, the file, the connections. */
  async close(): Promise<void> {
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.hasher.stop();
    this.closeFile();
    await this.closeDispatcher().catch(() => undefined);
  }
}
