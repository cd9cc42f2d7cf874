import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A `qemu-system-x86_64` on disk that runs fakeQemu.js under that name
 * (argv[0] in /proc is what vmlab checks to recognise its QEMUs).
 */
export function fakeQemuBinary(): string {
  return fakeBinary('qemu-system-x86_64', 'fakeQemu.js');
}

/** An `ssh` that "runs" a command once the fake guest answers a banner (the fake QEMU runs no sshd). */
export function fakeSshBinary(): string {
  return fakeBinary('ssh', 'fakeSsh.js');
}

/** What a test running the fake QEMU puts in the environment: the fake QEMU and the fake ssh that goes with it. */
export const fakeQemuEnv = () => ({ VMLAB_QEMU: fakeQemuBinary(), VMLAB_SSH: fakeSshBinary() });

function fakeBinary(name: string, script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-fake-'));
  const bin = join(dir, name);
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  writeFileSync(bin, `#!/bin/bash\nexec -a ${name} ${JSON.stringify(process.execPath)} ${JSON.stringify(path)} "$@"\n`);
  chmodSync(bin, 0o755);
  return bin;
}
