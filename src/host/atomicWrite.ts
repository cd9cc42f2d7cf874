import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/**
 * Write a file so that readers see the old or the new content, never half:
 * a temp file in the same directory, fsync, rename, then fsync the
 * directory so the rename itself survives a crash.
 *
 * `mode` is applied exactly (not filtered by the umask). Without it, a file
 * that exists keeps its mode and a new one gets 0644 less the umask.
 *
 * `path` itself is replaced: a symlink there becomes a regular file. To write
 * through a link, pass its realpath (see profiles.ts).
 */
export function writeFileAtomic(path: string, data: string, mode?: number): void {
  const keep = mode ?? existingMode(path);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = openSync(tmp, 'wx', keep ?? 0o644);
    try {
      if (keep !== undefined) fchmodSync(fd, keep);
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

function existingMode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/** Best effort: some file systems refuse fsync on a directory (EINVAL, EISDIR); the data is written either way. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // nothing more can be done for durability here
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
