import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { terminate } from '../../host/processes.js';
import type { Reporter } from '../../host/reporter.js';
import type { LabPlan } from '../../plan/labPlan.js';
import { stopQemu } from '../node/qemuProcess.js';
import { findQemusUnder } from '../state/labScan.js';
import { writeState, type LabState } from '../state/labState.js';
import { restoreProfiles } from './profiles.js';

/** Stop every QEMU of the lab now (recorded or found by its lab path). */
export async function killAll(plan: LabPlan, state: LabState, reporter: Reporter): Promise<void> {
  await Promise.all(
    plan.nodes.map(async (n) => {
      const pid = state.nodes[n.name]!.pid;
      if (pid) await stopQemu(n, pid, { graceful: false, timeoutMs: 0 }, reporter.verbose);
      state.nodes[n.name]!.pid = null;
    }),
  );
  // A QEMU spawned but not yet recorded (interrupted mid-start) is found by its lab path.
  for (const pid of findQemusUnder(plan.files.dir)) await terminate(pid);
}

/** Restore what this lab wrote into the profiles; its record goes once that worked. */
export function undoProfiles(plan: LabPlan, reporter: Reporter): void {
  const r = restoreProfiles(plan.files);
  const kept = `the originals stay in ${plan.files.profileBackups}`;
  if (r.problem) reporter.warn(`profiles not fully restored: ${r.problem}; ${kept}`);
  else rmSync(plan.files.profileBackups, { recursive: true, force: true });
}

/** Undo a deploy that failed: no process, no overlay, profiles as before; logs stay. */
export async function rollback(plan: LabPlan, state: LabState, reporter: Reporter): Promise<void> {
  state.status = 'failed'; // also stops bootAll from starting more
  await killAll(plan, state, reporter);
  for (const ns of Object.values(state.nodes)) if (ns.status !== 'failed') ns.status = 'stopped';
  undoProfiles(plan, reporter);
  for (const d of ['disks', 'qemu', 'keys']) rmSync(join(plan.files.dir, d), { recursive: true, force: true });
  state.status = 'failed';
  writeState(plan.files.state, state);
}
