import type { NodePlan } from '../../plan/labPlan.js';
import { qmpCommand } from '../../qemu/qmp.js';
import { isAlive } from '../../host/processes.js';
import type { Reporter } from '../../host/reporter.js';
import { LabError, type LabErrorCode } from '../labError.js';
import { writeState, type LabState } from '../state/labState.js';
import type { LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { onEach } from './eachNode.js';

/*
 * Pausing a lab's VMs (QMP stop) for one consistent moment, and resuming
 * them after, whatever happened; and resuming the VMs a killed vmlab left
 * paused.
 */

/** While `withPaused` runs its work: VMs started paused (-S) join the ones it resumes. */
export interface PausedLab {
  add(n: NodePlan): void;
}

/** Why a pause failed, as the command that paused says it. */
export interface PauseFailure {
  /** What was left undone, e.g. "nothing was saved; try again". */
  hint: string;
  code: LabErrorCode;
}

/**
 * Recorded before any VM is paused: if this vmlab is killed while the lab is
 * paused, the next snapshot command (or `vmlab resume`) finds a dead pid
 * here and resumes the VMs, and `vmlab status` says so.
 */
function markPaused(state: LabState): void {
  state.paused_by = process.pid;
  writeState(state.plan.files.state, state);
}

/** Resume every paused VM; a failure is reported, never thrown (a lab is never left paused silently). */
async function resumeAll(state: LabState, nodes: NodePlan[], reporter: Reporter): Promise<void> {
  for (const f of await onEach(nodes, (n) => qmpCommand(n.files.qmp, 'cont'))) {
    const next = `resume it with: vmlab resume ${state.name}, or restart it`;
    reporter.warn(`${f.node}: could not resume its VM (${f.error}); ${next}`);
  }
  delete state.paused_by;
  writeState(state.plan.files.state, state);
}

/**
 * Pause `nodes` (all at once), run `work`, and resume every VM paused or
 * added, also when `work` throws. A node that does not pause fails the
 * whole with `onFail`, before `work` runs.
 */
export async function withPaused<T>(
  state: LabState,
  nodes: NodePlan[],
  reporter: Reporter,
  onFail: PauseFailure,
  work: (lab: PausedLab) => Promise<T>,
): Promise<T> {
  const paused: NodePlan[] = [];
  markPaused(state);
  try {
    const failed = await onEach(nodes, async (n) => {
      await qmpCommand(n.files.qmp, 'stop');
      paused.push(n);
    });
    if (failed.length) {
      const which = failed.map((f) => `${f.node} (${f.error})`).join(', ');
      throw new LabError(onFail.code, `could not pause ${which}`, { hint: onFail.hint });
    }
    return await work({ add: (n) => paused.push(n) });
  } finally {
    await resumeAll(state, paused, reporter);
  }
}

/**
 * Resume the VMs a killed vmlab left paused (its pid in `paused_by` is
 * gone); with `always`, every paused VM of the lab (`vmlab resume`).
 * Returns the nodes resumed.
 */
export async function resumeAbandoned(state: LabState, reporter: Reporter, always = false): Promise<string[]> {
  const owner = state.paused_by;
  if (!always && (owner === undefined || owner === process.pid || isAlive(owner))) return [];
  const resumed: string[] = [];
  for (const n of state.plan.nodes.filter((x) => nodeIsUp(state, x.name))) {
    const s = (await qmpCommand(n.files.qmp, 'query-status').catch(() => undefined)) as { status?: string } | undefined;
    if (s?.status !== 'paused') continue;
    await qmpCommand(n.files.qmp, 'cont');
    resumed.push(n.name);
  }
  delete state.paused_by;
  writeState(state.plan.files.state, state);
  if (resumed.length && owner !== undefined && owner !== process.pid) {
    const who = `vmlab (pid ${owner})`;
    reporter.warn(`${who} was killed while lab "${state.name}" was paused; resumed ${resumed.join(', ')}`);
  }
  return resumed;
}

/** `vmlab resume`: every paused VM of the lab runs again. */
export async function resumeLab(ref: LabRef, reporter: Reporter): Promise<string[]> {
  return withLab(ref, {}, async (state) => resumeAbandoned(state, reporter, true));
}
