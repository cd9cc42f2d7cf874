import { constants, copyFileSync, linkSync, statSync } from 'node:fs';

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
