import { run } from '../../host/subprocess.js';
import { binaryVersion } from '../state/snapshotFacts.js';

/*
 * The version a QEMU binary reports, asked once per binary per process:
 * what a stopped node would run under, checked against a snapshot's or a
 * checkpoint's before it is loaded.
 */

const versions = new Map<string, Promise<string>>();

export function qemuBinaryVersion(binary: string): Promise<string> {
  let v = versions.get(binary);
  if (!v) {
    v = run([binary, '--version'], { timeoutMs: 30_000 }).then((r) => binaryVersion(r.stdout));
    versions.set(binary, v);
  }
  return v;
}
