import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { withLock } from '../../host/lock.js';
import { hashFileThreaded } from '../../host/threadedDigest.js';
import type { Checksum } from '../checksums.js';
import { ImageError } from '../imageError.js';
import { algosFor, cancelled } from './partFile.js';
import { transfer } from './transfer.js';
import type { DownloadOptions, DownloadResult } from './types.js';

/**
 * Download one URL to a file: http/https through undici (redirects, proxies
 * from the environment), retries with backoff that resume with Range/If-Range,
 * hashing while the bytes stream to `dest.part` (on a worker thread, which
 * reads each MiB back from the page cache as it is written), verification,
 * then an atomic rename to `dest`. A run that gives up keeps what it has for
 * the next run. From a server that takes Range requests, a big file comes in
 * several segments at once (segmented.ts); otherwise in one stream (transfer.ts).
 *
 * Files next to `dest` while a download is under way or interrupted:
 *  - `dest.part`       the bytes so far (never mistaken for a finished file);
 *  - `dest.part.json`  url, ETag, Last-Modified, total (and each segment's progress): what a later resume needs;
 *  - `dest.part.lock`  the host lock (host/lock.ts): the pid of the downloading process.
 */

export { looksLikeHtml } from './http.js';
export type { DownloadOptions, DownloadProgress, DownloadResult } from './types.js';

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

/** Under the cross-process lock: hand back a file another process finished meanwhile, or transfer it. */
async function downloadLocked(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const lockPath = `${dest}.part.lock`;
  let waited = false;
  const onWait = () => {
    waited = true;
    opts.log?.(`waiting for another download of ${dest} (lock ${lockPath})`);
  };
  const wait = {
    waitMs: Infinity,
    pollMs: opts.lockPollMs ?? 250,
    onWait,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  if (opts.signal?.aborted) throw cancelled(url);
  try {
    return await withLock(
      lockPath,
      `download of ${dest}`,
      async () => (waited && (await finishedMeanwhile(dest, opts.expected))) || transfer(url, dest, opts),
      wait,
    );
  } catch (e) {
    // Aborted while waiting for the lock (what the transfer throws is an ImageError already).
    if (opts.signal?.aborted && !(e instanceof ImageError)) throw cancelled(url);
    throw e;
  }
}

/** Someone else finished `dest` while we waited: their file's result, if it matches `expected`. */
async function finishedMeanwhile(dest: string, expected: Checksum | undefined): Promise<DownloadResult | undefined> {
  const exists = await fsp.stat(dest).then(
    () => true,
    () => false,
  );
  if (!exists) return undefined;
  const d = await hashFileThreaded(dest, algosFor(expected));
  if (expected && d[expected.algo] !== expected.hex.toLowerCase()) return undefined;
  const bytes = (await fsp.stat(dest)).size;
  return { path: dest, bytes, sha256: d.sha256!, ...(d.sha512 ? { sha512: d.sha512 } : {}), resumed: false };
}
