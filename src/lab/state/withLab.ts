import { withLabLock } from '../../host/lock.js';
import { labFiles } from '../../plan/labFiles.js';
import { LabError } from '../labError.js';
import { deployInterrupted } from './labScan.js';
import type { LabRef } from './labRef.js';
import { loadLab } from './labSelect.js';
import type { LabState } from './labState.js';

export interface WithLabOptions {
  /** Refuse a lab whose deploy was killed half-way: start, stop and snapshots would act on half a lab. */
  refuseInterrupted?: boolean;
  /** Checks that need no lock (an unknown node, a bad name) fail before waiting for it. */
  before?: (state: LabState) => void;
}

/**
 * The one way to change a deployed lab: fail fast if it is not deployed,
 * take its lock, then read its state again (another vmlab may have changed
 * it while we waited) and hand that fresh state to `fn`.
 */
export async function withLab<T>(ref: LabRef, opts: WithLabOptions, fn: (state: LabState) => Promise<T>): Promise<T> {
  opts.before?.(loadLab(ref));
  return withLabDir(ref, async () => {
    const state = loadLab(ref);
    if (opts.refuseInterrupted) refuseInterrupted(state);
    return fn(state);
  });
}

/**
 * The lab's lock without a state to read: deploy (the lab may not exist
 * yet) and destroy (its state may be gone or broken) decide for themselves.
 */
export const withLabDir = <T>(ref: LabRef, fn: () => Promise<T>): Promise<T> =>
  withLabLock(labFiles(ref.dir).lock, ref.name, fn);

function refuseInterrupted(state: LabState): void {
  if (deployInterrupted(state)) {
    throw new LabError('lab_interrupted', `the deploy of lab "${state.name}" was interrupted before it finished`, {
      hint: `deploy it again (vmlab deploy -S ${state.spec_dir}) or remove it (vmlab destroy ${state.name})`,
    });
  }
}
