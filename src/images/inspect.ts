import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { tailLines, type RunResult } from '../host/subprocess.js';
import { INSPECT_TIMEOUT_MS, limitedQemuImg } from '../qemu/untrustedImg.js';
import { ImageError } from './imageError.js';
import { claimedFormat, type ImageFormat } from './imageFiles.js';

/** What the bytes of a file say it is. `vpc` is VHD; `iso` is an ISO 9660 (CD) image. */
export type { ImageFormat };

export interface ImageInfo {
  format: ImageFormat;
  /** Disk size the guest sees, in bytes. */
  virtualSize: number;
  /** Bytes the file takes on the host. */
  actualSize: number;
  clusterSize?: number;
  /** The image was not closed cleanly (qcow2/vmdk/vhdx dirty flag). */
  dirty?: boolean;
  /** Not fatal, worth telling the user (e.g. leaked qcow2 clusters). */
  warnings: string[];
}

const TRUST_HINT =
  'if you trust the image and the files it names, flatten it yourself into a self-contained image: ' +
  'qemu-img convert -O qcow2 <image> <new>.qcow2';

// ---------------------------------------------------------------- names

/**
 * An image name from the user or a catalog becomes a file name: reject
 * anything that could leave the images directory or hide itself.
 */
export function assertSafeImageName(name: string): void {
  const bad = (why: string) =>
    new ImageError('bad_input', `image name ${JSON.stringify(name)} is not allowed: ${why}`, {
      hint: 'use a plain file name such as "debian-12.qcow2" (letters, digits, ".", "-", "_"; no directories)',
    });
  if (name.length === 0) throw bad('it is empty');
  if (name.includes('\0')) throw bad('it contains a NUL byte');
  if (name.includes('/') || name.includes('\\')) throw bad('it contains a path separator');
  if (name.includes('..')) throw bad('it contains ".."');
  if (name.startsWith('.')) throw bad('it starts with "."');
}

// ---------------------------------------------------------------- magic

async function readAt(fd: import('node:fs/promises').FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fd.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** How a file is named in messages, and which name's extension says what it claims to be. */
export interface Provenance {
  /** Name whose extension claims a format (default: the path). For a download, the URL's file name. */
  name?: string;
  /** What to call the file in messages (default: the path). For a download, the URL. */
  label?: string;
}

const FORMAT_NAME: Record<ImageFormat, string> = {
  qcow2: 'qcow2',
  vmdk: 'VMDK',
  vpc: 'VHD',
  vhdx: 'VHDX',
  iso: 'ISO 9660',
  raw: 'raw',
};

async function regularFileSize(path: string, label: string): Promise<number> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch {
    throw new ImageError('not_found', `image file ${label} does not exist`, {
      hint: 'check the path, or download the image again',
    });
  }
  if (st.isDirectory()) {
    throw new ImageError('not_an_image', `${label} is a directory, not a disk image`, {
      hint: `give the path of one image file in it, or register every image in it: vmlab images scan ${label}`,
    });
  }
  if (!st.isFile())
    throw new ImageError(
      'not_an_image',
      `${label} is not a regular file (a device, socket or pipe), not a disk image`,
      { hint: 'point at an image file' },
    );
  return st.size;
}

/** A few words on what the bytes look like, for an error: size, and the start if it is text. */
function describeBytes(head: Buffer, size: number): string {
  const text = head.subarray(0, 64);
  const printable =
    text.length > 0 && [...text].every((c) => c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f));
  const preview = printable ? `, starting with the text ${JSON.stringify(text.toString('latin1').slice(0, 40))}` : '';
  return `${size} byte${size === 1 ? '' : 's'} with no image header${preview}`;
}

/**
 * The image format from the file's bytes: a qcow2 renamed .vmdk is qcow2.
 * What is not an image is refused (ImageError 'not_an_image', exit 2): an
 * HTML page (a saved 404 or login page), an empty file, a directory, and
 * data with no image header unless it can be a raw disk: a whole number of
 * 512-byte sectors, under a name that claims no other format (a `.qcow2`
 * with no qcow2 header is not a raw disk, whatever its size).
 */
export async function detectFormatByMagic(path: string, from: Provenance = {}): Promise<ImageFormat> {
  const label = from.label ?? path;
  const isUrl = /^https?:\/\//.test(label);
  const size = await regularFileSize(path, label);
  if (size === 0) {
    throw new ImageError('not_an_image', `${label} is empty (0 bytes): expected a disk image`, {
      hint: isUrl ? 'the server sent an empty file: check the URL' : 'check that it is the right file',
    });
  }
  const fd = await open(path, 'r');
  try {
    const head = await readAt(fd, 0, 512);
    const ascii = (b: Buffer, start: number, len: number) => b.subarray(start, start + len).toString('latin1');
    const text = head
      .toString('latin1')
      .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
      .trimStart()
      .toLowerCase();
    if (text.startsWith('<!doctype html') || text.startsWith('<html')) {
      throw new ImageError('not_an_image', `${label} is an HTML page, not a disk image`, {
        hint:
          'the server sent an error or login page instead of the image: ' +
          'check the URL, delete the file and download again',
      });
    }
    if (head.length >= 4 && head[0] === 0x51 && head[1] === 0x46 && head[2] === 0x49 && head[3] === 0xfb)
      return 'qcow2';
    if (ascii(head, 0, 4) === 'KDMV') return 'vmdk';
    if (ascii(head, 0, 21) === '# Disk DescriptorFile') return 'vmdk';
    if (ascii(head, 0, 8) === 'vhdxfile') return 'vhdx';
    if (ascii(head, 0, 8) === 'conectix') return 'vpc'; // dynamic VHD: footer copy at the start
    // fixed VHD: footer only
    if (size >= 512 && ascii(await readAt(fd, size - 512, 8), 0, 8) === 'conectix') return 'vpc';
    if (size >= 0x8001 + 5 && ascii(await readAt(fd, 0x8001, 5), 0, 5) === 'CD001') return 'iso';

    // No header: raw, but only if nothing says otherwise.
    const named = from.name ?? path;
    const claimed = claimedFormat(named);
    if (claimed !== undefined) {
      throw new ImageError(
        'not_an_image',
        `${label} is not a ${FORMAT_NAME[claimed]} image: expected a ${FORMAT_NAME[claimed]} header ` +
          `(the name ends in ${extname(named)}), got ${describeBytes(head, size)}`,
        {
          hint: isUrl
            ? 'the URL does not point to the image it names: check the URL'
            : 'check that it is the right file (a failed download, or a renamed file?); ' +
              'if it really is a raw disk image, give it a .img or .raw name',
        },
      );
    }
    if (size % 512 !== 0) {
      throw new ImageError(
        'not_an_image',
        `${label} is not a disk image: expected a qcow2, VMDK, VHD, VHDX or ISO header, ` +
          `or raw data in whole 512-byte sectors; got ${describeBytes(head, size)}`,
        {
          hint: isUrl
            ? 'check the URL: it should point to the image file itself'
            : 'check that it is the right file; a raw disk image is always a whole number of 512-byte sectors',
        },
      );
    }
    return 'raw';
  } finally {
    await fd.close();
  }
}

// ---------------------------------------------------------------- qemu-img failures

function qemuImgFailure(path: string, what: string, r: RunResult): ImageError {
  const why = r.timedOut
    ? `it did not finish within ${INSPECT_TIMEOUT_MS / 1000} s`
    : r.exitCode === 127
      ? 'qemu-img could not be started'
      : r.signal
        ? `it was killed by ${r.signal} (a resource limit was hit: the image may be hostile)`
        : tailLines(r.stderr, 2) || `exit code ${r.exitCode}`;
  const hint =
    r.exitCode === 127
      ? 'install qemu-utils (qemu-img), e.g. with ./install.sh'
      : 'the file is damaged or not what it claims to be: download it again';
  return new ImageError('qemu_img', `qemu-img ${what} failed for ${path}: ${why}`, { hint });
}

/** Format name qemu-img uses for our detected format. */
const qemuFormat = (f: ImageFormat) => (f === 'iso' ? 'raw' : f);

interface QemuImgInfo {
  format?: string;
  'virtual-size'?: number;
  'actual-size'?: number;
  'cluster-size'?: number;
  'dirty-flag'?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'format-specific'?: {
    type?: string;
    data?: {
      'data-file'?: string;
      corrupt?: boolean;
      extents?: { filename?: string }[];
    };
  };
}

async function qemuImgInfo(path: string, format: string | null): Promise<QemuImgInfo> {
  const args = ['info', '--output=json', ...(format ? ['-f', format] : []), path];
  const r = await limitedQemuImg(args);
  if (r.exitCode !== 0) throw qemuImgFailure(path, 'info', r);
  try {
    return JSON.parse(r.stdout) as QemuImgInfo;
  } catch {
    throw new ImageError('qemu_img', `qemu-img info gave no JSON for ${path}`, {
      hint: 'check that qemu-img works: qemu-img --version',
    });
  }
}

/** Extent file names in a text VMDK descriptor (`RW 2048 FLAT "disk-flat.vmdk" 0`). */
function descriptorExtents(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+\w+\s+"([^"]*)"/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/**
 * Inspect an untrusted image before QEMU opens it: detect the format from
 * its bytes, read it with `qemu-img info` under resource limits, and reject
 * anything that names another host file (backing file, external data file,
 * VMDK extents elsewhere), is corrupt, or that qemu-img sees as a different
 * format than the bytes say.
 */
export async function inspectImage(imagePath: string, from: Provenance = {}): Promise<ImageInfo> {
  // Absolute path: qemu-img would read "nbd:..." or "json:{...}" as a protocol.
  const path = resolve(imagePath);
  const format = await detectFormatByMagic(path, from);
  const warnings: string[] = [];

  if (format === 'vmdk') {
    // A text descriptor only points at other files: refuse before qemu-img opens them.
    const fd = await open(path, 'r');
    let head: string;
    try {
      head = (await readAt(fd, 0, 64 * 1024)).toString('latin1');
    } finally {
      await fd.close();
    }
    if (head.startsWith('# Disk DescriptorFile')) {
      const extents = descriptorExtents(head);
      throw new ImageError(
        'unsafe',
        `${path} is a VMDK descriptor that names other files ` +
          `(${extents.length ? extents.join(', ') : 'its extents'}); vmlab only accepts self-contained images`,
        { hint: TRUST_HINT },
      );
    }
  }

  // Never let qemu-img probe: with the format pinned it cannot be talked into
  // another driver (a text that qemu would probe as a VMDK descriptor naming
  // json:/nbd: extents stays a raw file). Launch QEMU with this format too.
  const info = await qemuImgInfo(path, qemuFormat(format));
  if (info.format !== qemuFormat(format)) {
    throw new ImageError(
      'unsafe',
      `${path}: its bytes say ${format} but qemu-img reports ${info.format ?? 'no format'}`,
      { hint: 'download the image again; do not use a file whose format is ambiguous' },
    );
  }
  const backing = info['backing-filename'] ?? info['full-backing-filename'];
  if (backing !== undefined)
    throw new ImageError('unsafe', `${path} names a backing file (${backing}): QEMU would read that host file`, {
      hint: TRUST_HINT,
    });
  const dataFile = info['format-specific']?.data?.['data-file'];
  if (dataFile !== undefined)
    throw new ImageError(
      'unsafe',
      `${path} names an external data file (${dataFile}): QEMU would read and write that host file`,
      { hint: TRUST_HINT },
    );
  for (const extent of info['format-specific']?.data?.extents ?? []) {
    const file = extent.filename;
    if (file === undefined) continue;
    const abs = isAbsolute(file) ? file : resolve(dirname(path), file);
    if (abs !== path && file !== path)
      throw new ImageError('unsafe', `${path} has a VMDK extent in another file (${file})`, { hint: TRUST_HINT });
  }
  if (info['format-specific']?.data?.corrupt === true) {
    throw new ImageError('qemu_img', `${path} is marked corrupt in its qcow2 header`, {
      hint: 'download the image again',
    });
  }

  if (format === 'qcow2') {
    const r = await limitedQemuImg(['check', '--output=json', '-f', 'qcow2', path]);
    // 0 clean, 2 corruptions, 3 only leaked clusters, 1 check could not run, 63 unsupported.
    let check: { corruptions?: number; leaks?: number; 'check-errors'?: number } = {};
    try {
      check = JSON.parse(r.stdout) as typeof check;
    } catch {
      /* no JSON on hard failures */
    }
    if (r.exitCode === 2 || (check.corruptions ?? 0) > 0) {
      throw new ImageError(
        'qemu_img',
        `${path} is corrupt: qemu-img check found ${check.corruptions ?? 'some'} corruption(s)`,
        { hint: 'download the image again; do not boot a corrupt image' },
      );
    }
    if (r.exitCode === 3 || (check.leaks ?? 0) > 0) {
      warnings.push(
        `${path}: ${check.leaks ?? 'some'} leaked cluster(s) ` +
          '(wasted space only; `qemu-img check -r leaks` reclaims them)',
      );
    } else if (r.exitCode !== 0) {
      throw qemuImgFailure(path, 'check', r);
    }
  }

  const result: ImageInfo = {
    format,
    virtualSize: info['virtual-size'] ?? 0,
    actualSize: info['actual-size'] ?? 0,
    warnings,
  };
  if (info['cluster-size'] !== undefined) result.clusterSize = info['cluster-size'];
  if (info['dirty-flag'] !== undefined) result.dirty = info['dirty-flag'];
  return result;
}
