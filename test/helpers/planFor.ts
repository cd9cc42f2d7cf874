import { loadSpec } from '../../src/spec/loadSpec.js';
import { imagePathsOf, planLab, resolveLab, type HostFacts, type ImageFacts } from '../../src/plan/planLab.js';
import type { LabPlan } from '../../src/plan/labPlan.js';

/** Plan a spec dir with fixed host facts: no probes, so the result is the same on every machine. */
export function planFor(
  dir: string,
  images: (path: string) => ImageFacts = () => ({ format: 'qcow2' }),
  host?: string,
): LabPlan {
  const spec = loadSpec(dir);
  const resolved = resolveLab(spec, '/home/user');
  const facts: HostFacts = {
    home: '/home/user',
    root: '/home/user/.vmlab',
    accel: 'tcg',
    qemuBinary: 'qemu-system-x86_64',
    images: Object.fromEntries(imagePathsOf(resolved).map((p) => [p, images(p)])),
  };
  return planLab(spec, resolved, facts, host === undefined ? {} : { host });
}

/** The message a spec dir fails with ('' when it plans). */
export function planError(dir: string, images?: (path: string) => ImageFacts, host?: string): string {
  try {
    planFor(dir, images, host);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}
