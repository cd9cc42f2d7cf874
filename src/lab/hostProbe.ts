import { homedir } from 'node:os';
import { detectAccel } from '../qemu/accel.js';
import { inspectImage } from '../qemu/qemuImg.js';
import { vmlabRoot } from '../plan/labFiles.js';
import type { HostFacts } from '../plan/planLab.js';

export const QEMU_SYSTEM = process.env.VMLAB_QEMU ?? 'qemu-system-x86_64';

/** Probe what the planner must not: accelerator, images. */
export async function probeHost(imagePaths: string[], env: NodeJS.ProcessEnv = process.env): Promise<HostFacts & { accelReason: string }> {
  const home = homedir();
  const [accel, ...infos] = await Promise.all([detectAccel(QEMU_SYSTEM, env), ...imagePaths.map((p) => inspectImage(p))]);
  return {
    home,
    root: vmlabRoot(env, home),
    accel: accel.accel,
    accelReason: accel.reason,
    qemuBinary: QEMU_SYSTEM,
    images: Object.fromEntries(imagePaths.map((p, i) => [p, infos[i]!])),
  };
}
