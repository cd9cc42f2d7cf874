import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Accel } from '../plan/labPlan.js';

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/**
 * KVM only if it really works: /dev/kvm can exist while QEMU aborts setting
 * MSRs, so start a tiny VM with `-accel kvm` and see whether it gets
 * past the vCPU reset. VMLAB_ACCEL=tcg|kvm overrides.
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
    // Paused (-S) VM with QMP on stdio: QEMU resets the vCPU (where a broken
    // KVM aborts) before its main loop answers, so a reply to query-status
    // means KVM works. Typically well under 100 ms either way.
    const child = spawn(qemuBinary, ['-accel', 'kvm', '-machine', 'q35', '-cpu', 'host', '-m', '32', '-nodefaults', '-display', 'none', '-S', '-qmp', 'stdio'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 5000);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/"return":\s*\{[^}]*"status"/.test(out)) finish(true);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.write('{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n');
    child.on('exit', () => finish(false));
    child.on('error', () => finish(false));
  });
  return alive ? { accel: 'kvm', reason: 'KVM works' } : { accel: 'tcg', reason: '/dev/kvm exists but KVM does not work here (probe VM aborted)' };
}
