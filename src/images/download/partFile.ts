import { promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DigestAlgo, Digests } from '../../host/threadedDigest.js';
import type { Checksum } from '../checksums.js';
import { ImageError } from '../imageError.js';
import type { DownloadOptions, DownloadProgress, DownloadResult, PartMeta } from './types.js';

/**
 * The part file of a download and its state (`dest.part`, `dest.part.json`),
 * shared by the one-stream and the segmented transfer.
 */

export const PROGRESS_INTERVAL_MS = 100;

export const DEFAULT_CONNECTIONS = 4;

export const MAX_RETRY_DELAY_MS = 30_000;

/** Progress reports at most every PROGRESS_INTERVAL_MS; speed counts this run's bytes only. */
export class Progress {
  private readonly started = Date.now();
  private last = 0;

  constructor(
    private readonly onProgress: ((p: DownloadProgress) => void) | undefined,
    private readonly startBytes: number,
  ) {}

  report(bytes: number, total: number | null, force: boolean): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const bytesPerSec = secs > 0 ? Math.max(0, bytes - this.startBytes) / secs : 0;
    const etaSec = total !== null && bytesPerSec > 0 ? Math.max(0, (total - bytes) / bytesPerSec) : null;
    this.onProgress({ bytes, total, bytesPerSec, etaSec });
  }
}

/** Wait between attempts; false when the signal cut it short. */
export async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return sleep(ms, undefined, { signal }).then(
    () => true,
    () => false,
  );
}

export function cancelled(url: string): ImageError {
  return new ImageError('cancelled', `Download of ${url} cancelled.`, {
    hint: 'run it again to resume from the part file',
  });
}

/** What to hash: always sha256 (the library's key), and the expected digest's algorithm. */
export const algosFor = (expected: Checksum | undefined): DigestAlgo[] =>
  expected?.algo === 'sha512' ? ['sha256', 'sha512'] : ['sha256'];

export function discardSync(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

export async function readMeta(metaPath: string): Promise<PartMeta | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(metaPath, 'utf8')) as Partial<PartMeta>;
    if (typeof m.url !== 'string') return undefined;
    const segments =
      Array.isArray(m.segments) &&
      m.segments.every(
        (x) =>
          Number.isSafeInteger(x?.start) &&
          Number.isSafeInteger(x?.end) &&
          Number.isSafeInteger(x?.done) &&
          x.done >= 0 &&
          x.done <= x.end - x.start,
      )
        ? m.segments
        : undefined;
    return {
      url: m.url,
      etag: m.etag ?? null,
      lastModified: m.lastModified ?? null,
      total: m.total ?? null,
      ...(segments ? { segments } : {}),
    };
  } catch {
    return undefined;
  }
}

export async function partSize(part: string): Promise<number> {
  try {
    return (await fsp.stat(part)).size;
  } catch {
    return 0;
  }
}

export async function discard(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => fsp.rm(p, { force: true })));
}

/**
 * Write the part state so that readers see the old or the new one (kill -9
 * safe; not fsynced: the final hash catches what a crash of the host lost).
 */
export function writeMeta(metaPath: string, meta: PartMeta): void {
  writeFileSync(`${metaPath}.tmp`, JSON.stringify(meta) + '\n', { mode: 0o600 });
  renameSync(`${metaPath}.tmp`, metaPath);
}

/** Verify the digests, then rename the part file into place (or discard it on a mismatch). */
export async function finishPart(o: {
  url: string;
  dest: string;
  bytes: number;
  digests: Digests;
  expected: Checksum | undefined;
  resumed: boolean;
  log: (line: string) => void;
}): Promise<DownloadResult> {
  const { url, dest, digests, resumed } = o;
  const part = `${dest}.part`;
  const metaPath = `${dest}.part.json`;
  if (o.expected) {
    const actual = digests[o.expected.algo]!;
    const want = o.expected.hex.toLowerCase();
    if (actual !== want) {
      await discard(part, metaPath);
      throw new ImageError(
        'checksum_mismatch',
        `Checksum mismatch for ${url}: expected ${o.expected.algo}:${want}, got ${o.expected.algo}:${actual}.`,
        {
          hint:
            'the download is corrupt or the image was replaced upstream; ' +
            'check the published checksum and try again',
        },
      );
    }
  }

  await fsp.rename(part, dest);
  await discard(metaPath);
  o.log(`saved ${dest} (${o.bytes} bytes${resumed ? ', resumed' : ''})`);
  return {
    path: dest,
    bytes: o.bytes,
    sha256: digests.sha256!,
    ...(digests.sha512 ? { sha512: digests.sha512 } : {}),
    resumed,
  };
}

/** What every transfer of `dest` (one stream or segmented) takes from its options: its files and its retry policy. */
export function transferSettings(
  dest: string,
  opts: Pick<DownloadOptions, 'log' | 'idleTimeoutMs' | 'attempts' | 'retryDelayMs'>,
) {
  return {
    part: `${dest}.part`,
    metaPath: `${dest}.part.json`,
    log: opts.log ?? (() => {}),
    idleMs: opts.idleTimeoutMs ?? 60_000,
    maxAttempts: Math.max(1, opts.attempts ?? 5),
    baseDelay: opts.retryDelayMs ?? 1000,
  };
}
