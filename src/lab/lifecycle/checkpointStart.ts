import type { LabPlan, NodePlan } from '../../plan/labPlan.js';
import { createOverlay } from '../../qemu/qemuImg.js';
import { checkCheckpoints, giveIdentity, placeCheckpointDisk } from '../snapshot/checkpoint.js';
import { qemuBinaryVersion } from '../node/qemuVersion.js';
import { setClockWithRetry } from '../snapshot/guestClock.js';
import { placeFreshFiles } from './coldStart.js';
import type { StartSource } from './deployment.js';

/** A checkpoint node's disk is a copy of its checkpoint; the others boot cold on a fresh overlay. */
const diskOf = (n: NodePlan) =>
  n.checkpoint ? placeCheckpointDisk(n) : createOverlay(n.image.path, n.image.format, n.files.overlay);

/**
 * Some nodes start from library checkpoints (booted nodes saved with their
 * RAM): each resumes as the saved node and is then given its own identity.
 */
export function checkpointStart(plan: LabPlan): StartSource {
  return {
    from: `, ${plan.nodes.filter((n) => n.checkpoint).length} warm from checkpoints`,
    placed: 'created',
    check: async (p) => checkCheckpoints(p, await qemuBinaryVersion(p.qemuBinary)),
    place: (d) => placeFreshFiles(d, diskOf),
    qemuArgs: (n) => (n.checkpoint ? ['-loadvm', n.checkpoint.snapshot] : []),
    answered: async (state, n, env) => {
      if (!n.checkpoint) return;
      // The guest is still the saved node until it is given its own identity.
      await giveIdentity(state, n);
      await setClockWithRetry(state, n.name, env);
    },
    finish: async () => {},
    close: () => {},
  };
}
