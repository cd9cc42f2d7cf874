import { homedir } from 'node:os';
import { accelFacts, type AccelFacts } from '../../host/accel.js';
import { vmlabRoot } from '../../plan/labFiles.js';
import { qemuBinaryFrom } from '../../host/settings.js';
import type { HostFacts, ImageFacts } from '../../plan/planLab.js';
import { findPasst } from './passtProcess.js';

/** What the planner learns of each image a spec names: handed in (labs never import images/). */
export type ImageFactsResolver = (keys: string[]) => Promise<Record<string, ImageFacts>>;

/**
 * Probe what the planner must not: the accelerator (host/accel), and each
 * image through the resolver the service hands in.
 */
export async function probeHost(
  imageKeys: string[],
  images: ImageFactsResolver,
  env: NodeJS.ProcessEnv,
): Promise<HostFacts & { accelReason: string; accelFacts: AccelFacts }> {
  const home = homedir();
  const qemuBinary = qemuBinaryFrom(env);
  const [accel, facts] = await Promise.all([accelFacts({ qemuBinary, env }), images(imageKeys)]);
  const passt = findPasst(env);
  return {
    home,
    root: vmlabRoot(env, home),
    accel: accel.accel,
    accelReason:
      accel.source === 'cache' ? `${accel.reason}; verdict cached for this host, see vmlab doctor` : accel.reason,
    accelFacts: accel,
    qemuBinary,
    ...(passt ? { passt } : {}),
    images: facts,
  };
}
