import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Accel } from '../plan/labPlan.js';

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/**
 * KVM only if it really works: /dev/kvm can exist while QEMU aborts setting
 * MSRs, so start a tiny VM with `-accel kvm` and see whether it survives
 * its first second. VMLAB_ACCEL=tcg|kvm overrides.
 */
export async function detectAccel(qemuBinary: string, env: NodeJS.ProcessEnv = process.env): Promise<AccelChoice> {
  const forced = env.VMLAB_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return { accel: forced, reason: 'VMLAB_ACCEL' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is not available' };
  }
  const alive = await new Promise<boolean>((resolve) => {
    const child = spawn(qemuBinary, ['-accel', 'kvm', '-machine', 'q35', '-cpu', 'host', '-m', '32', '-nodefaults', '-display', 'none', '-no-reboot'], {
      stdio: 'ignore',
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(true);
    }, 1000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  return alive ? { accel: 'kvm', reason: 'KVM works' } : { accel: 'tcg', reason: '/dev/kvm exists but KVM does not work here (probe VM aborted)' };
}
