import { buildQemuArgv } from '../qemu/argv.js';
import type { Accel, LabPlan } from './labPlan.js';

/**
 * The same lab under another accelerator: what deploy falls back to when
 * KVM crashes a guest. Only the accelerator and the `host` CPU model (KVM
 * only) change; every port, MAC and file stays, and the argv comes from
 * the one pure builder.
 */
export function planForAccel(plan: LabPlan, accel: Accel): LabPlan {
  if (plan.accel === accel) return plan;
  const nodes = plan.nodes.map((n) => {
    const node = { ...n, cpuModel: accel === 'tcg' && n.cpuModel === 'host' ? 'max' : n.cpuModel };
    return {
      ...node,
      argv: buildQemuArgv(node, {
        lab: plan.name,
        accel,
        qemuBinary: plan.qemuBinary,
        authorizedKeys: plan.files.labKeyPub,
      }),
    };
  });
  return { ...plan, accel, nodes };
}
