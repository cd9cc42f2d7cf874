import { QemuError } from './qemuError.js';
import { run, tailLines } from './run.js';

export const QEMU_IMG = 'qemu-img';

/** A copy-on-write overlay on `base`: only the node's changes are written. */
export async function createOverlay(base: string, baseFormat: string, overlay: string): Promise<void> {
  const argv = [QEMU_IMG, 'create', '-q', '-f', 'qcow2', '-b', base, '-F', baseFormat, overlay];
  const r = await run(argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new QemuError(`qemu-img create failed with exit code ${r.exitCode}`, argv, tailLines(r.stderr, 5));
}
