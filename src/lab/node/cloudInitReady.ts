import type { NodePlan } from '../../plan/labPlan.js';
import { tailLines } from '../../host/subprocess.js';
import type { LabState } from '../state/labState.js';
import { retrySsh, type SessionWait } from './sessionReady.js';

type CloudInitVerdict = { ok: true; warning?: string } | { ok: false; error: string };

/**
 * The guest waits in a shell loop until cloud-init has finished
 * (`/run/cloud-init/result.json`, written at the end of its last stage),
 * then `cloud-init status --wait` gives the verdict. Under TCG each
 * `cloud-init` command costs 20 s or more of guest CPU (its Python imports),
 * taken from the boot it waits for: it runs once, at the end. Where the
 * generator did not mark cloud-init enabled (`/run/cloud-init/enabled`), the
 * status command waits by itself, as before.
 */
const WAIT_THEN_STATUS =
  'while [ -e /run/cloud-init/enabled ] && [ ! -e /run/cloud-init/result.json ]; do sleep 1; done; ' +
  'exec cloud-init status --wait';

/**
 * Wait for cloud-init over SSH. cloud-init may restart sshd while it
 * configures it, so a failed connection is retried until the deadline;
 * exit 0 is done, 2 is done with recoverable errors, 1 failed.
 */
export async function waitForCloudInit(state: LabState, node: NodePlan, wait: SessionWait): Promise<CloudInitVerdict> {
  const r = await retrySsh<CloudInitVerdict>(state, node, ['sh', '-c', WAIT_THEN_STATUS], wait, (x) => {
    if (x.exitCode === 0) return { ok: true };
    if (x.exitCode === 2)
      return { ok: true, warning: `cloud-init finished with recoverable errors: ${tailLines(x.stdout, 2)}` };
    if (x.exitCode === 1 && /status: error/.test(x.stdout))
      return { ok: false, error: `cloud-init failed: ${tailLines(x.stdout + x.stderr, 3)}` };
    return undefined;
  });
  if ('verdict' in r) return r.verdict;
  return {
    ok: false,
    error: `cloud-init did not finish within vm_boot_timeout (${node.bootTimeoutS} s)${r.last ? `: ${r.last}` : ''}`,
  };
}
