import type { Reporter } from '../../host/reporter.js';
import type { LabPlan } from '../../plan/labPlan.js';
import { archiveStart, type ArchiveInput } from './archiveStart.js';
import { checkpointStart } from './checkpointStart.js';
import { coldStart } from './coldStart.js';
import type { StartSource } from './deployment.js';

export type { ArchiveInput };

/** Where this deploy's guests start from: a snapshot given wins, else the plan's checkpoints, else cold. */
export async function chooseStartSource(
  plan: LabPlan,
  reporter: Reporter,
  archive?: ArchiveInput,
): Promise<StartSource> {
  if (archive) return archiveStart(plan, archive, reporter);
  if (plan.nodes.some((n) => n.checkpoint)) return checkpointStart(plan);
  return coldStart();
}
