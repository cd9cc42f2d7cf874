import type { NodePlan } from '../../plan/labPlan.js';
import { createOverlay } from '../../qemu/qemuImg.js';
import { generateKey } from '../node/sshFiles.js';
import type { Deployment, StartSource } from './deployment.js';
import { writeNodeSeed } from './seeds.js';

/** A node's copy-on-write overlay, fresh on its base image. */
const freshOverlay = (n: NodePlan) => createOverlay(n.image.path, n.image.format, n.files.overlay);

/** New keys for the lab and each node, each node's disk (made by `disk`), and the cloud-init seeds. */
export async function placeFreshFiles(d: Deployment, disk: (n: NodePlan) => Promise<void>): Promise<void> {
  const { plan } = d;
  await generateKey(plan.files.labKey, `vmlab-${plan.name}`);
  await Promise.all(plan.nodes.map((n) => generateKey(n.files.hostKey, `${n.name}@vmlab-${plan.name}`)));
  await Promise.all(plan.nodes.map(disk));
  await Promise.all(plan.nodes.map((n) => writeNodeSeed(plan, n, d.state.created)));
}

/** Every guest boots from its image: the only start KVM trouble can fall back to TCG from. */
export const coldStart = (): StartSource => ({
  from: '',
  placed: 'created',
  check: async () => {},
  place: (d) => placeFreshFiles(d, freshOverlay),
  qemuArgs: () => [],
  answered: async () => {},
  restartDisks: async (plan) => {
    await Promise.all(plan.nodes.map(freshOverlay));
  },
  finish: async () => {},
  close: () => {},
});
