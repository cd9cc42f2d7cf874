import type { NodePlan } from '../plan/labPlan.js';
import { run, tailLines } from '../qemu/run.js';
import type { LabState } from './labState.js';
import { sleep } from '../host/processes.js';
import { sshInvocation } from './sshCommand.js';

/**
 * Wait for `cloud-init status --wait` over SSH. cloud-init may restart sshd
 * while it configures it, so a failed connection is retried until the
 * deadline; exit 0 is done, 2 is done with recoverable errors, 1 failed.
 */
export async function waitForCloudInit(state: LabState, node: NodePlan, deadline: number): Promise<{ ok: true; warning?: string } | { ok: false; error: string }> {
  let last = '';
  while (Date.now() < deadline) {
    const { argv, env } = sshInvocation(state, node.name, ['cloud-init', 'status', '--wait']);
    const r = await run(argv, { env, timeoutMs: Math.max(1000, deadline - Date.now()) });
    if (r.exitCode === 0) return { ok: true };
    if (r.exitCode === 2) return { ok: true, warning: `cloud-init finished with recoverable errors: ${tailLines(r.stdout, 2)}` };
    if (r.exitCode === 1 && /status: error/.test(r.stdout)) return { ok: false, error: `cloud-init failed: ${tailLines(r.stdout + r.stderr, 3)}` };
    last = tailLines(r.stderr || r.stdout, 2);
    await sleep(1000);
  }
  return { ok: false, error: `cloud-init did not finish within vm_boot_timeout (${node.bootTimeoutS} s)${last ? `: ${last}` : ''}` };
}
