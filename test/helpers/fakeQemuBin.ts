import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A `qemu-system-x86_64` on disk that runs fakeQemu.js under that name
 * (argv[0] in /proc is what vmlab checks to recognise its QEMUs).
 */
export function fakeQemuBinary(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-fakeqemu-'));
  const bin = join(dir, 'qemu-system-x86_64');
  const script = fileURLToPath(new URL('./fakeQemu.js', import.meta.url));
  writeFileSync(bin, `#!/bin/bash\nexec -a qemu-system-x86_64 ${JSON.stringify(process.execPath)} ${JSON.stringify(script)} "$@"\n`);
  chmodSync(bin, 0o755);
  return bin;
}
