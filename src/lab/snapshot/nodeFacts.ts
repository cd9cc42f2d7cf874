import type { LabPlan, NodePlan } from '../../plan/labPlan.js';
import { qmpCommand } from '../../qemu/qmp.js';
import { accelFacts } from '../../host/accel.js';
import type { LabState } from '../state/labState.js';
import { qmpVersion, type CurrentNode } from '../state/snapshotFacts.js';
import { qemuBinaryVersion } from '../node/qemuVersion.js';

/*
 * The facts a saved VM state must meet, as the nodes have them now: a
 * running node as it runs (its QEMU asked over QMP), a stopped one as it
 * would start (the binary, the accelerator this host gives it).
 */

/** The QEMU version a running node's VM reports. */
export async function runningVersion(n: NodePlan): Promise<string> {
  return qmpVersion(await qmpCommand(n.files.qmp, 'query-version'));
}

/** The accelerator a stopped node would start under now (KVM may have been found broken since). */
export async function startAccel(plan: LabPlan, env: NodeJS.ProcessEnv): Promise<string> {
  if (plan.accel !== 'kvm') return plan.accel;
  return (await accelFacts({ qemuBinary: plan.qemuBinary, env })).accel;
}

/** Every node of the lab as it is now; `up` are the running ones. */
export async function currentNodes(state: LabState, up: NodePlan[], env: NodeJS.ProcessEnv): Promise<CurrentNode[]> {
  const plan = state.plan;
  const accelNow = up.length < plan.nodes.length ? await startAccel(plan, env) : plan.accel;
  return Promise.all(
    plan.nodes.map(async (n) => ({
      plan: n,
      accel: up.includes(n) ? (state.nodes[n.name]?.accel ?? plan.accel) : accelNow,
      qemu_version: up.includes(n) ? await runningVersion(n) : await qemuBinaryVersion(plan.qemuBinary),
    })),
  );
}
