import { constants, copyFileSync, renameSync, rmSync } from 'node:fs';

/** A copy that is a reflink (O(1), no extra space) where the filesystem can, a plain copy elsewhere. */
export const copyFast = (from: string, to: string) => copyFileSync(from, to, constants.COPYFILE_FICLONE);

/** rename, or copy where the two are on different filesystems. */
export function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFast(from, to);
    rmSync(from, { force: true });
  }
}
