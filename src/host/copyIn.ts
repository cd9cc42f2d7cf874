import { chmodSync, constants, copyFileSync, linkSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { GrowingFileDigest, hashFileThreaded, type DigestAlgo, type Digests } from './threadedDigest.js';

export type CopyMethod = 'reflink' | 'hardlink' | 'copy';

export interface CopyResult {
  method: CopyMethod;
  /** Bytes written as data (0 for a reflink or a hard link). */
  bytesCopied: number;
}

/**
 * Put `src` at `dest` as cheaply as the file system allows: a reflink
 * (copy-on-write, btrfs/XFS), else a hard link (same file system; only when
 * the build does not write into the disk: a link would change the library's
 * file), else a full copy. `dest` must not exist.
 */
export function copyIn(src: string, dest: string, opts: { allowHardLink: boolean }): CopyResult {
  try {
    copyFileSync(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return { method: 'reflink', bytesCopied: 0 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
  }
  if (opts.allowHardLink) {
    try {
      linkSync(src, dest);
      return { method: 'hardlink', bytesCopied: 0 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
    }
  }
  copyFileSync(src, dest, constants.COPYFILE_EXCL);
  return { method: 'copy', bytesCopied: statSync(dest).size };
}

/**
 * How far a hashing thread may fall behind a copy: past this, the copy waits (the bytes are still in the page cache).
 */
const HASH_LAG = 256 << 20;
const COPY_CHUNK = 4 << 20;

/**
 * Copy `src` to `dest` (created, `mode`) and hash the copy in the same pass:
 * a reflink where the file system has them (then one read, for the hash),
 * else a copy in 4 MiB chunks while a worker thread hashes what is written,
 * reading it back from the page cache. The digests describe `dest`, the
 * file that is kept, not what `src` may have become meanwhile.
 */
export async function copyHashed(
  src: string,
  dest: string,
  algos: DigestAlgo[],
  opts: { mode?: number; signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void } = {},
): Promise<CopyResult & { digests: Digests }> {
  const mode = opts.mode ?? 0o600;
  try {
    copyFileSync(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    chmodSync(dest, mode);
    return { method: 'reflink', bytesCopied: 0, digests: await hashFileThreaded(dest, algos) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
    rmSync(dest, { force: true });
  }
  const from = await open(src, 'r');
  const to = await open(dest, 'wx', mode);
  const hasher = new GrowingFileDigest(dest, algos);
  try {
    const total = (await from.stat()).size;
    // Two buffers: the next chunk is read while the last one is written.
    const bufs = [Buffer.allocUnsafe(COPY_CHUNK), Buffer.allocUnsafe(COPY_CHUNK)];
    let at = 0;
    let reading = from.read(bufs[0]!, 0, COPY_CHUNK, 0);
    for (let i = 0; ; i++) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const buf = bufs[i % 2]!;
      reading = from.read(bufs[(i + 1) % 2]!, 0, COPY_CHUNK, at + bytesRead);
      let off = 0;
      while (off < bytesRead) off += (await to.write(buf, off, bytesRead - off, at + off)).bytesWritten;
      at += bytesRead;
      hasher.advance(at);
      opts.onProgress?.(at, total);
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('cancelled');
      if (at - hasher.hashed > HASH_LAG) await hasher.caughtUp(at - HASH_LAG / 2);
    }
    await reading.catch(() => undefined);
    await to.close();
    return { method: 'copy', bytesCopied: at, digests: await hasher.finish(at) };
  } catch (err) {
    await to.close().catch(() => undefined);
    rmSync(dest, { force: true });
    throw err;
  } finally {
    hasher.stop();
    await from.close();
  }
}
