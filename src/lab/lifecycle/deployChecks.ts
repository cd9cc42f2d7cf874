import { hostCapacity } from '../../host/hostCapacity.js';
import type { LabPlan } from '../../plan/labPlan.js';
import { findArchive } from '../snapshot/snapshotArchive.js';
import { checkMemory } from './capacity.js';

/**
 * What refuses a deploy before anything starts, or a server queues it: a
 * lab that needs more memory than the host has available (unless `force`),
 * a snapshot to start from that is not there. Run once per deploy; returns
 * the snapshot's file.
 */
export function checkBeforeDeploy(
  plan: LabPlan,
  root: string,
  opts: { snapshot?: string; force?: boolean },
): string | undefined {
  checkMemory(plan, hostCapacity().mem_available_mb, Boolean(opts.force));
  return opts.snapshot ? findArchive(root, plan.name, opts.snapshot) : undefined;
}
