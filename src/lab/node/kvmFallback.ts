import { recordKvmCrash } from '../../host/accel.js';
import type { Reporter } from '../../host/reporter.js';
import { planForAccel } from '../../plan/accelPlan.js';
import type { LabState } from '../state/labState.js';
import type { VmFault } from './vmWatch.js';

/** QEMUs started from now on run under TCG (those running keep their accelerator). */
export function switchToTcg(state: LabState): void {
  state.plan = planForAccel(state.plan, 'tcg');
  state.accel = 'tcg';
}

/**
 * A guest stopped in internal-error while booting under KVM: the final word
 * on this host's KVM. Remember it, say so once (`restarting` names what
 * starts again), and switch the lab's plan to TCG.
 */
export function fallBackToTcg(
  state: LabState,
  crash: { node: string; fault: VmFault },
  reporter: Reporter,
  restarting: string,
  env: NodeJS.ProcessEnv,
): void {
  const { node, fault } = crash;
  const at = (fault.afterMs / 1000).toFixed(1);
  recordKvmCrash(
    { qemuBinary: state.plan.qemuBinary, env },
    `guest ${node} of lab ${state.name} stopped with internal-error ${at} s into its KVM boot ` +
      '(register dump in its QEMU log)',
  );
  reporter.warn(
    `KVM crashed ${node} ${at} s into its boot (VM state internal-error). ` +
      `KVM is now marked broken on this host (vmlab doctor shows why); starting ${restarting} again under TCG.`,
  );
  switchToTcg(state);
}
