import type { Accel, LabPlan } from '../../plan/labPlan.js';
import { LabError } from '../labError.js';

/**
 * What QEMU holds per node beyond guest RAM, in MiB: binary and libraries,
 * firmware, device state, user-mode networking and, under TCG, the
 * translation cache. Measured with the tiny guest (docs/architecture.md,
 * "Cost per node"); a little above the measurement so a plan errs safe.
 */
export const QEMU_OVERHEAD_MB: Record<Accel, number> = { tcg: 80, kvm: 48 };

/** The memory one node is planned to take on the host. */
export const nodeCostMb = (memoryMb: number, accel: Accel) => memoryMb + QEMU_OVERHEAD_MB[accel];

/** What a lab is planned to take: every node's guest RAM plus QEMU's overhead. */
export const plannedMemoryMb = (plan: Pick<LabPlan, 'accel' | 'nodes'>) =>
  plan.nodes.reduce((sum, n) => sum + nodeCostMb(n.memoryMb, plan.accel), 0);

/** How many nodes of this size fit in the memory available. */
export const nodesThatFit = (memoryMb: number, accel: Accel, availableMb: number) =>
  Math.max(0, Math.floor(availableMb / nodeCostMb(memoryMb, accel)));

/**
 * Refuse, before anything starts, a lab that needs more memory than the
 * host has available: QEMUs that do not fit get killed by the OOM killer
 * mid-boot, or swap the host to a standstill. `force` skips the check.
 */
export function checkMemory(
  plan: Pick<LabPlan, 'name' | 'accel' | 'nodes' | 'specDir'>,
  availableMb: number,
  force: boolean,
): void {
  const need = plannedMemoryMb(plan);
  if (force || need <= availableMb) return;
  throw new LabError(
    'insufficient_memory',
    `lab "${plan.name}" needs ${need} MiB of memory ` +
      `(${plan.nodes.length} node(s): guest RAM + ${QEMU_OVERHEAD_MB[plan.accel]} MiB of QEMU each) ` +
      `but this host has ${availableMb} MiB available: ${need - availableMb} MiB missing`,
    {
      hint:
        'free memory, lower vm_memory or the node count, ' +
        `or deploy anyway with --force (vmlab deploy -S ${plan.specDir} --force)`,
    },
  );
}
