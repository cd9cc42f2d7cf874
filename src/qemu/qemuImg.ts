import { existsSync, statSync } from 'node:fs';
import type { ImageFacts } from '../plan/planLab.js';
import { QemuError } from './qemuError.js';
import { run, tailLines } from './run.js';

export const QEMU_IMG = 'qemu-img';

interface QemuImgInfo {
  format?: string;
  'virtual-size'?: number;
  'backing-filename'?: string;
  'format-specific'?: { type?: string; data?: { 'data-file'?: string } };
}

/**
 * Inspect a base image before QEMU ever opens it: it must exist, be an
 * image qemu-img understands, and name no other host file (a backing file
 * or external data file could make the VM read /etc/shadow).
 */
export async function inspectImage(path: string): Promise<ImageFacts> {
  if (!existsSync(path)) return { problem: 'image file not found', hint: 'point vm_image at an existing qcow2 file (build the test guest with `vmlab images build tiny`)' };
  if (!statSync(path).isFile()) return { problem: 'image is not a regular file' };
  const r = await run([QEMU_IMG, 'info', '--output=json', path], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) return { problem: `qemu-img cannot read the image (${tailLines(r.stderr, 1)})` };
  let info: QemuImgInfo;
  try {
    info = JSON.parse(r.stdout) as QemuImgInfo;
  } catch {
    return { problem: 'qemu-img info gave no JSON' };
  }
  if (info['backing-filename']) {
    return { problem: `image names a backing file (${info['backing-filename']})`, hint: `flatten it first: qemu-img convert -O qcow2 ${path} flat.qcow2` };
  }
  if (info['format-specific']?.data?.['data-file']) {
    return { problem: `image names an external data file (${info['format-specific'].data['data-file']})`, hint: 'convert it to a self-contained qcow2 with qemu-img convert' };
  }
  return { format: info.format ?? 'raw' };
}

/** A copy-on-write overlay on `base`: only the node's changes are written. */
export async function createOverlay(base: string, baseFormat: string, overlay: string): Promise<void> {
  const argv = [QEMU_IMG, 'create', '-q', '-f', 'qcow2', '-b', base, '-F', baseFormat, overlay];
  const r = await run(argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new QemuError(`qemu-img create failed with exit code ${r.exitCode}`, argv, tailLines(r.stderr, 5));
}
