import type { NodePlan } from '../../plan/labPlan.js';
import { run, tailLines, type RunResult } from '../../host/subprocess.js';
import type { LabState } from '../state/labState.js';
import { isAlive, sleep } from '../../host/processes.js';
import { sshInvocation } from './sshCommand.js';

/** How long one readiness attempt may take to connect and finish the SSH handshake. */
const HANDSHAKE_TIMEOUT_S = 60;

/** How long to keep trying, with which environment (VMLAB_SSH), and what stops the wait early. */
export interface SessionWait {
  deadline: number;
  env: NodeJS.ProcessEnv;
  stop?: AbortSignal | undefined;
}

/**
 * Run a command on a node over SSH until `judge` gives a verdict or the
 * deadline passes. A run it does not judge (sshd not up yet, restarted by
 * cloud-init, a banner that timed out on a loaded host) is retried every
 * second; `last` is what the last one said. It gives up early when `stop`
 * is aborted (a cancelled deploy) or the node's QEMU has exited.
 */
export async function retrySsh<T>(
  state: LabState,
  node: NodePlan,
  command: string[],
  wait: SessionWait,
  judge: (r: RunResult) => T | undefined,
): Promise<{ verdict: T } | { last: string }> {
  const { deadline, stop } = wait;
  let last = '';
  const pid = state.nodes[node.name]?.pid;
  while (Date.now() < deadline && !stop?.aborted) {
    if (pid && !isAlive(pid)) return { last: `${node.name}'s QEMU (pid ${pid}) exited` };
    // A booting guest (TCG, a loaded host) can take more than ssh's usual 10 s for the handshake. A client that gave up
    // would be retried at once while the guest's sshd still works on the abandoned connection: such connections pile up
    // (seen: 10 at once, past MaxStartups, and 2 min 43 s of guest CPU in sshd during a cloud-init boot), and starve
    // the boot.
    const { argv, env } = sshInvocation(state, node.name, command, wait.env, HANDSHAKE_TIMEOUT_S);
    const r = await run(argv, { env, timeoutMs: Math.max(1000, deadline - Date.now()) });
    const verdict = judge(r);
    if (verdict !== undefined) return { verdict };
    last = tailLines(r.stderr || r.stdout, 2);
    await sleep(1000);
  }
  return { last };
}

/**
 * Ready means usable: an SSH session runs a command (`true`), not merely
 * a banner answering. On a loaded host the first sessions after the banner
 * can still time out; they are retried until the node's boot deadline.
 * A login the guest refuses is final for a node with no cloud-init (no key
 * will arrive later): its SSH server is fully up, so the node counts as
 * ready, with a warning naming the credentials to set.
 */
export async function waitForSession(
  state: LabState,
  node: NodePlan,
  wait: SessionWait,
): Promise<{ ok: true; warning?: string } | { ok: false; error: string }> {
  const refused = (x: RunResult) => x.exitCode === 255 && /Permission denied/.test(x.stderr);
  const r = await retrySsh(state, node, ['true'], wait, (x) =>
    x.exitCode === 0 ? 'ok' : refused(x) ? 'refused' : undefined,
  );
  if ('verdict' in r) {
    if (r.verdict === 'ok') return { ok: true };
    const how = node.credentials.pass ? 'its password' : 'the lab key (no password is set)';
    return {
      ok: true,
      warning:
        `its SSH server refused ${node.credentials.user}'s login with ${how}: ` +
        "vmlab ssh will not log in until the platform's vm_credentials (or the profile's ssh_user/ssh_pass) " +
        'name an account of the image',
    };
  }
  return {
    ok: false,
    error:
      `SSH answered but no session ran within vm_boot_timeout (${node.bootTimeoutS} s)` +
      `${r.last ? `: ${r.last}` : ''}`,
  };
}
