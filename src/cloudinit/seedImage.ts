import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuError } from '../qemu/qemuError.js';
import { run, tailLines } from '../host/subprocess.js';
import type { SeedFiles } from './cloudConfig.js';

/**
 * Write a NoCloud seed ISO (volume label `cidata`) with genisoimage: no
 * root, no mounts. QEMU attaches it read-only.
 */
export async function writeSeedIso(files: SeedFiles, out: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-seed-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const argv = [
      'genisoimage',
      '-quiet',
      '-output',
      out,
      '-volid',
      'cidata',
      '-joliet',
      '-rock',
      ...Object.keys(files).map((f) => join(dir, f)),
    ];
    const r = await run(argv, { timeoutMs: 30_000 });
    if (r.exitCode !== 0)
      throw new QemuError('qemu_failed', 'writing the cloud-init seed failed', {
        argv,
        logTail: tailLines(r.stderr, 5),
        hint: 'install genisoimage (./install.sh does)',
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
