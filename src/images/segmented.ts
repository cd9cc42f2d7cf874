import { closeSync, ftruncateSync, openSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { algosFor, cancelled, DEFAULT_CONNECTIONS, discard, discardSync, finishPart, MAX_RETRY_DELAY_MS, PROGRESS_INTERVAL_MS, transferSettings, writeMeta, type PartMeta, type Segment } from './partFile.js';
import type { DownloadOptions, DownloadResult } from './downloader.js';
import { errCode, exchange, looksLikeHtml, makeDispatcher, notAnImage, parseContentRange, PERMANENT, RETRY_STATUS, retryAfterMs, Transient } from './http.js';
import { ImageError } from './imageError.js';
import { PartWriter } from './partWriter.js';
import { GrowingFileDigest } from '../host/threadedDigest.js';

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
 * The first request of a download is a plain GET (downloader.ts): when its
 * 200 says the server takes ranges (`Accept-Ranges: bytes`, a length, a
 * strong validator) and the file is big enough for two segments of at least
 * `minSegmentBytes`, that connection is dropped and the segments start; a
 * small file, or a server without ranges, costs no extra request.
 */

const DEFAULT_MIN_SEGMENT = 16 << 20;
const META_INTERVAL_MS = 1000;

/** The file changed on the server under a segmented download (or its ranges are not what they said): start over. */
const CHANGED = Symbol('changed');

/** Cut [from, total) into n segments on MiB boundaries (from `from`); bytes before `from` are one finished segment. */
export function planSegments(total: number, n: number, from = 0): Segment[] {
  const step = Math.ceil((total - from) / n / (1 << 20)) * (1 << 20);
  const out: Segment[] = from > 0 ? [{ start: 0, end: from, done: from }] : [];
  for (let start = from; start < total; start += step) out.push({ start, end: Math.min(total, start + step), done: 0 });
  return out;
}

/** What the first answer said about a file that can come in segments. */
export interface Rangeable {
  total: number;
  etag: string | null;
  lastModified: string | null;
}

/**
 * Where the first stream stopped when it was handed over: its bytes [0, have)
 * are in the part file, and `hashes` has been given them.
 */
export interface Kept {
  have: number;
  hashes: GrowingFileDigest;
}

/**
 * True when a 200 answer to a plain GET says the file can come in segments:
 * `Accept-Ranges: bytes`, a length, and a strong validator for If-Range.
 */
export function rangeable(h: IncomingHttpHeaders, total: number | null, etag: string | null, lastModified: string | null): Rangeable | undefined {
  if (String(h['accept-ranges'] ?? '').toLowerCase() !== 'bytes' || total === null || (!etag && !lastModified)) return undefined;
  return { total, etag, lastModified };
}

/** How many segments `total` bytes (a file, or what is left of it) get (below 2: one stream). */
export function segmentCount(total: number, opts: DownloadOptions): number {
  return Math.min(Math.max(1, opts.connections ?? DEFAULT_CONNECTIONS), Math.floor(total / (opts.minSegmentBytes ?? DEFAULT_MIN_SEGMENT)));
}

/**
 * Fetch `url` in segments: a fresh start (`start` is what the first answer
 * said) or the resume of a segmented part file (`start` is its state).
 * Undefined when the server turns out not to honour ranges for this file:
 * the caller then streams it whole.
 */
export async function segmentedTransfer(url: string, dest: string, opts: DownloadOptions, start: { resume: PartMeta } | { fresh: Rangeable; kept?: Kept }): Promise<DownloadResult | undefined> {
  const { part, metaPath, log, idleMs, maxAttempts, baseDelay } = transferSettings(dest, opts);
  const connections = Math.max(1, opts.connections ?? DEFAULT_CONNECTIONS);
  const { dispatcher, close } = makeDispatcher(opts);
  const abort = new AbortController();
  const onAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let fd: number | undefined;
  let hasher: GrowingFileDigest | undefined;
  try {
    let meta: PartMeta;
    if ('resume' in start) {
      meta = start.resume;
      const segs = meta.segments;
      if (!segs?.length || meta.total === null || segs[0]!.start !== 0 || segs.at(-1)!.end !== meta.total || segs.some((s, i) => i > 0 && s.start !== segs[i - 1]!.end)) {
        log(`discarding ${part}: its segment state does not fit together`);
        await discard(part, metaPath);
        return undefined;
      }
      log(`resuming ${url}: ${segs.filter((s) => s.done < s.end - s.start).length} of ${segs.length} segments to go`);
      fd = openSync(part, 'r+');
    } else {
      const p = start.fresh;
      const from = start.kept?.have ?? 0;
      meta = { url, etag: p.etag, lastModified: p.lastModified, total: p.total, segments: planSegments(p.total, segmentCount(p.total - from, opts), from) };
      const fresh = meta.segments!.filter((s) => s.done === 0);
      log(`GET ${url}${from ? ` from byte ${from}` : ''} in ${fresh.length} segments of ${((fresh[0]!.end - fresh[0]!.start) / 2 ** 20).toFixed(0)} MiB`);
      // The first stream's bytes stay (the file grows to its full size); a fresh start has none.
      fd = openSync(part, from ? 'r+' : 'w', 0o600);
      ftruncateSync(fd, p.total);
      writeMeta(metaPath, meta);
    }
    const segs = meta.segments!;
    const total = meta.total!;
    const validator = meta.etag ?? meta.lastModified;
    const fileFd = fd;

    // The first stream's hash goes on where it was; otherwise the prefix a resume kept is read back.
    hasher = 'fresh' in start && start.kept ? start.kept.hashes : new GrowingFileDigest(part, algosFor(opts.expected));
    const prefix = () => {
      for (const s of segs) if (s.done < s.end - s.start) return s.start + s.done;
      return total;
    };
    hasher.advance(prefix());

    const have = () => segs.reduce((a, s) => a + s.done, 0);
    // Speed counts this run's bytes; only a resume kept bytes from an earlier run (a first stream's are this run's).
    const atStart = have();
    const fromEarlier = 'resume' in start ? atStart : 0;
    const started = Date.now();
    let lastReport = 0;
    let lastMeta = Date.now();
    const report = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastMeta >= META_INTERVAL_MS) {
        lastMeta = now;
        writeMeta(metaPath, meta);
      }
      if (!opts.onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
      lastReport = now;
      const bytes = have();
      const secs = (now - started) / 1000;
      const bytesPerSec = secs > 0 ? (bytes - atStart) / secs : 0;
      opts.onProgress({ bytes, total, bytesPerSec, etaSec: bytesPerSec > 0 ? (total - bytes) / bytesPerSec : null });
    };

    /** One request for the rest of a segment. */
    const attempt = async (s: Segment): Promise<void> => {
      const from = s.start + s.done;
      const headers: Record<string, string> = { 'user-agent': 'vmlab', 'accept-encoding': 'identity', accept: '*/*', range: `bytes=${from}-${s.end - 1}` };
      if (validator) headers['if-range'] = validator;
      const writer = new PartWriter(fileFd, from);
      // Only bytes in the file count as done: the hash reads them back, and the saved state must not run ahead of the file.
      const took = () => {
        s.done = writer.at - s.start;
      };
      try {
        await exchange(dispatcher, url, headers, abort.signal, idleMs, (status, statusText, h) => {
          if (status === 206) {
            const r = parseContentRange(h['content-range']);
            if (r?.start === from && r.total === total) {
              return (chunk) => {
                if (s.start === 0 && writer.end === 0 && looksLikeHtml(chunk) === true) throw notAnImage(url, 'the body is an HTML page');
                const room = s.end - writer.end;
                if (writer.push(chunk.length > room ? chunk.subarray(0, room) : chunk)) {
                  took();
                  hasher!.advance(prefix());
                  report(false);
                }
              };
            }
          }
          if (status === 200 || status === 416 || status === 206) throw CHANGED;
          if (status === 404 || status === 410) throw new ImageError('not-found', `${url} was not found (HTTP ${status}).`, 'check the URL; the image may have been moved or replaced by a newer release');
          if (RETRY_STATUS.has(status)) throw new Transient(`HTTP ${status} ${statusText}`.trimEnd(), undefined, retryAfterMs(h));
          throw new ImageError('http', `Download of ${url} failed: HTTP ${status} ${statusText}`.trimEnd() + '.', 'try again later, or check the URL');
        });
      } finally {
        writer.flush();
        took();
        hasher!.advance(prefix());
      }
      if (s.done < s.end - s.start) throw new Transient(`the server closed the connection at byte ${s.start + s.done} of segment ${s.start}-${s.end - 1}`);
    };

    /** A segment to its end: retries resume it where it stopped, and only it. */
    const runSegment = async (s: Segment): Promise<void> => {
      let failures = 0;
      while (s.done < s.end - s.start) {
        if (abort.signal.aborted) return;
        const before = s.done;
        try {
          await attempt(s);
        } catch (e) {
          if (abort.signal.aborted) return;
          if (!(e instanceof Transient)) throw e;
          failures = s.done > before ? 1 : failures + 1;
          if ((e.cause !== undefined && PERMANENT.test(errCode(e.cause) ?? '')) || failures >= maxAttempts) throw e;
          const wait = Math.min(e.retryAfterMs ?? baseDelay * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
          log(`${e.message}; resuming that segment at byte ${s.start + s.done} in ${(wait / 1000).toFixed(1)} s (attempt ${failures + 1} of ${maxAttempts})`);
          await sleep(wait, undefined, { signal: abort.signal }).catch(() => undefined);
        }
      }
    };

    // At most `connections` segments at once (a resume may have more segments than connections asked).
    const queue = segs.filter((s) => s.done < s.end - s.start);
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: Math.min(connections, queue.length) }, async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          try {
            await runSegment(s);
          } catch (e) {
            errors.push(e);
            // A verdict (or a changed file) stops every segment; a segment that ran out of attempts lets the others finish.
            if (!(e instanceof Transient)) abort.abort(e);
          }
        }
      }),
    );
    writeMeta(metaPath, meta);
    if (opts.signal?.aborted) throw cancelled(url);
    const verdict = errors.find((e) => !(e instanceof Transient));
    if (verdict === CHANGED) {
      log(`${url} changed on the server (or did not honour a range) during a segmented download; starting over in one stream`);
      hasher.stop();
      closeSync(fd);
      fd = undefined;
      await discard(part, metaPath);
      return undefined;
    }
    if (verdict !== undefined) {
      if (verdict instanceof ImageError && ['not-found', 'not-an-image'].includes(verdict.code)) discardSync(part, metaPath);
      throw verdict;
    }
    if (errors.length) {
      const e = errors[0] as Transient;
      const bytes = have();
      throw new ImageError(
        'network',
        `Download of ${url} failed: ${e.message} (${bytes} of ${total} bytes received, ${errors.length} of ${segs.length} segments unfinished).`,
        `${bytes} bytes are kept in ${part}: run the same command again to resume the unfinished segments; check the network`,
      );
    }
    report(true);
    let digests;
    try {
      digests = await hasher.finish(total);
    } catch (e) {
      throw new ImageError('network', `Download of ${url} failed: ${part} changed while it was hashed (${(e as Error).message}).`, 'run it again');
    }
    closeSync(fd);
    fd = undefined;
    return await finishPart({ url, dest, bytes: total, digests, expected: opts.expected, resumed: fromEarlier > 0, log });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    hasher?.stop();
    if (fd !== undefined) closeSync(fd);
    await close().catch(() => undefined);
  }
}
