import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every name an image file and its work files go by in the library, and the
 * extensions that say "this is a disk image". One place, so an import, a
 * scan, an upload and the clean-up of a dead run all agree.
 *
 * In the images directory, for an image `name`:
 *  - `name.qcow2` (or `.iso`, `.vmdk`, … kept as is)    the finished image;
 *  - `name.download` + `.part`, `.part.json`(`.tmp`), `.part.lock`   a download (download/index.ts);
 *  - `name.download.sums…`                             the checksum list of a pull;
 *  - `name.import.part`                                a one-pass import copy;
 *  - `name.<format>.part`                              a copy or conversion not yet renamed;
 *  - `name.qcow2.part-<pid>`                           a checkpoint being written by pid;
 *  - `name.key`                                        a checkpoint image's private key.
 */

/** The formats an image file can be in (qemu-img's names; `vpc` is VHD). */
export type ImageFormat = 'qcow2' | 'vmdk' | 'vhdx' | 'vpc' | 'raw' | 'iso';

/** Extensions a default image name drops: `debian-12.qcow2` is "debian-12". */
const NAMED_EXTENSIONS = ['qcow2', 'qcow', 'img', 'raw', 'vmdk', 'vhd', 'vhdx', 'vpc', 'vdi'];

/** Extensions a scan of a directory registers. */
const SCANNED_EXTENSIONS = ['qcow2', 'img', 'raw', 'vmdk', 'vhd', 'vhdx'];

/** Formats a copy or conversion writes as `name.<format>.part`. */
const PART_FORMATS: ImageFormat[] = ['qcow2', 'raw', 'vmdk', 'vhdx', 'vpc', 'iso'];

/** Formats a file name's extension claims; `.img`, `.raw`, `.bin` claim nothing. */
const CLAIMS: Record<string, ImageFormat> = {
  qcow2: 'qcow2',
  vmdk: 'vmdk',
  vhd: 'vpc',
  vpc: 'vpc',
  vhdx: 'vhdx',
  iso: 'iso',
};

const extensionRe = (exts: string[]) => new RegExp(`\\.(${exts.join('|')})$`, 'i');
const NAMED_RE = extensionRe(NAMED_EXTENSIONS);
const SCANNED_RE = extensionRe(SCANNED_EXTENSIONS);
/** Work files a scan never registers as images. */
const WORK_FILE_RE = /\.(part|download|json|lock|sums)$/;
const CHECKPOINT_PART_RE = /\.qcow2\.part-(\d+)$/;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Extension of a file name, lower case, without the dot ('' if none). */
export const extensionOf = (name: string): string => /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';

/** A file name without its disk-image extension: the image name it gets by default. */
export const withoutImageExtension = (fileName: string): string => fileName.replace(NAMED_RE, '');

/** True for a file a scan registers: a disk image's extension, not a work file. */
export const isScannableImageFile = (fileName: string): boolean =>
  !WORK_FILE_RE.test(fileName) && SCANNED_RE.test(fileName);

/** The format a file name claims by its extension, if any. */
export const claimedFormat = (name: string): ImageFormat | undefined => CLAIMS[extensionOf(name)];

/** The finished image of `name` in `dir` in `format`. */
export const imageFilePath = (dir: string, name: string, format: string): string => join(dir, `${name}.${format}`);

/** Where a pull of `name` downloads to (its part files sit beside it). */
export const downloadPath = (dir: string, name: string): string => join(dir, `${name}.download`);

/** The one-pass import copy of `name`, renamed into place once inspected. */
export const importPartPath = (dir: string, name: string): string => join(dir, `${name}.import.part`);

/** A copy not yet renamed into place: a killed copy never looks like an image. */
export const copyPartPath = (final: string): string => `${final}.part`;

/** A checkpoint image's key (the private key its saved guest trusts) lives beside it, as private as the image. */
export const checkpointKeyPath = (imagePath: string): string => `${imagePath.replace(/\.qcow2$/, '')}.key`;

/** A checkpoint being written: `<name>.qcow2.part-<pid>`, carrying its writer's pid so that a dead one's is found. */
export const checkpointPartPath = (final: string): string => `${final}.part-${process.pid}`;

/** The pid in a checkpoint part file's name, if it is one. */
export const checkpointPartPid = (file: string): number | undefined =>
  Number(CHECKPOINT_PART_RE.exec(file)?.[1]) || undefined;

/**
 * Files a pull or import of `name` leaves in the images directory while it is
 * under way or after it was interrupted (see the list at the top).
 */
export function tempFilesOf(dir: string, name: string): string[] {
  const download = 'download(\\.sums)?(\\.part(\\.json(\\.tmp)?|\\.lock)?)?';
  const re = new RegExp(`^${escapeRe(name)}\\.(${download}|import\\.part|(${PART_FORMATS.join('|')})\\.part)$`);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.filter((f) => re.test(f)).map((f) => join(dir, f));
}
