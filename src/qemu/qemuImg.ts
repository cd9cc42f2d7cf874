import { QemuError } from './qemuError.js';
import { run, tailLines, type RunResult } from '../host/subprocess.js';

/*
 * Every qemu-img call the lab engine makes: overlays, their internal
 * snapshots, their backing file. Each failure is a QemuError whose message
 * names the command and ends with the tail of its stderr.
 */

export const QEMU_IMG = 'qemu-img';

/** Long enough for a snapshot of a guest with gigabytes of RAM state on a slow disk. */
const SNAPSHOT_TIMEOUT_MS = 300_000;

/** One internal snapshot of a qcow2 image, as `qemu-img info --output=json` lists it. */
export interface ImageSnapshot {
  name: string;
  'vm-state-size': number;
}

/** The fields of `qemu-img info --output=json` vmlab reads. */
export interface ImageInfo {
  format?: string;
  'actual-size'?: number;
  'backing-filename'?: string;
  'format-specific'?: { data?: { 'data-file'?: string } };
  snapshots?: ImageSnapshot[];
}

const UNREADABLE = 'is the file complete and readable?';
const stderrOr = (r: RunResult) => tailLines(r.stderr, 3) || `exit code ${r.exitCode}`;

async function qemuImg(args: string[], timeoutMs: number): Promise<{ argv: string[]; r: RunResult }> {
  const argv = [QEMU_IMG, ...args];
  return { argv, r: await run(argv, { timeoutMs }) };
}

/** A copy-on-write overlay on `base`: only the node's changes are written. */
export async function createOverlay(base: string, baseFormat: string, overlay: string): Promise<void> {
  const argv = [QEMU_IMG, 'create', '-q', '-f', 'qcow2', '-b', base, '-F', baseFormat, overlay];
  const r = await run(argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw new QemuError('qemu_failed', `qemu-img create failed with exit code ${r.exitCode}`, {
      argv,
      logTail: tailLines(r.stderr, 5),
    });
  }
}

/** An overlay's snapshots and size on disk; -U: a running QEMU holds the image lock. */
export async function overlayInfo(overlay: string): Promise<{ snapshots: ImageSnapshot[]; bytes: number }> {
  const { argv, r } = await qemuImg(['info', '-U', '--output=json', overlay], 60_000);
  if (r.exitCode !== 0) {
    const why = `qemu-img info ${overlay} failed: ${tailLines(r.stderr, 3)}`;
    throw new QemuError('qemu_failed', why, { argv, hint: "is the lab's disk still there?" });
  }
  const info = JSON.parse(r.stdout) as ImageInfo;
  return { snapshots: info.snapshots ?? [], bytes: info['actual-size'] ?? 0 };
}

/** A qcow2 image from someone else, read as qcow2 (never probed); `what` names it in the error. */
export async function qcow2Info(image: string, what: string): Promise<ImageInfo> {
  const { argv, r } = await qemuImg(['info', '--output=json', '-f', 'qcow2', image], SNAPSHOT_TIMEOUT_MS);
  if (r.exitCode !== 0)
    throw new QemuError('qemu_failed', `${what}: qemu-img info failed: ${stderrOr(r)}`, { argv, hint: UNREADABLE });
  return JSON.parse(r.stdout) as ImageInfo;
}

async function snapshotOp(flag: '-c' | '-a' | '-d', name: string, image: string): Promise<void> {
  const { argv, r } = await qemuImg(['snapshot', flag, name, image], SNAPSHOT_TIMEOUT_MS);
  if (r.exitCode !== 0) throw new QemuError('qemu_failed', `${argv.join(' ')}: ${stderrOr(r)}`, { argv });
}

/** A disk-only internal snapshot of a stopped node's image. */
export const createSnapshot = (image: string, name: string) => snapshotOp('-c', name, image);
/** The image's disk back to the internal snapshot. */
export const applySnapshot = (image: string, name: string) => snapshotOp('-a', name, image);
export const deleteSnapshot = (image: string, name: string) => snapshotOp('-d', name, image);

/** Delete every internal snapshot but `keep` (what a copy that travels must hold). */
export async function keepOnlySnapshot(image: string, keep: string): Promise<void> {
  for (const s of (await overlayInfo(image)).snapshots) if (s.name !== keep) await deleteSnapshot(image, s.name);
}

/**
 * Point an image at another backing file without touching its data (-u):
 * the new backing holds the same bytes under another name or place.
 */
export async function rebaseUnsafe(image: string, backing: string, backingFormat: string, what: string): Promise<void> {
  const { argv, r } = await qemuImg(['rebase', '-u', '-b', backing, '-F', backingFormat, image], SNAPSHOT_TIMEOUT_MS);
  if (r.exitCode !== 0)
    throw new QemuError('qemu_failed', `${what}: qemu-img rebase failed: ${stderrOr(r)}`, { argv, hint: UNREADABLE });
}
