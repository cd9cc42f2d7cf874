import { run, tailLines } from '../../host/subprocess.js';
import type { LabState } from '../state/labState.js';
import { sshInvocation } from '../node/sshCommand.js';

/*
 * A guest loaded from a snapshot or a checkpoint resumes at the time it was
 * saved: vmlab sets its clock to the host's over SSH.
 */

/**
 * Set a guest's clock to the host's: the command connects, says "ready",
 * and only then is sent the time, so SSH's own set-up does not skew it.
 */
export async function setGuestClock(
  state: LabState,
  node: string,
  sshEnv: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<void> {
  const script =
    'echo ready; read t; if [ "$(id -u)" = 0 ]; then date -s "@$t"; else sudo -n date -s "@$t"; fi >/dev/null';
  const { argv, env } = sshInvocation(state, node, ['sh', '-c', script], sshEnv);
  const r = await run(argv, {
    env,
    timeoutMs,
    reply: (out) => (out.includes('ready') ? `${Math.round(Date.now() / 1000)}\n` : undefined),
  });
  if (r.spawnError) throw r.spawnError;
  const sent = r.stdout.includes('ready');
  if (r.exitCode !== 0 || !sent) {
    throw new Error(`date over SSH failed (exit ${r.exitCode}): ${tailLines(r.stderr, 2) || 'no output'}`);
  }
}

/** Three tries a second apart: an SSH server that is restarting answers again in a moment. */
export async function setClockWithRetry(state: LabState, node: string, env: NodeJS.ProcessEnv): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await setGuestClock(state, node, env);
    } catch (e) {
      last = e;
      if (i < 2) await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw last;
}
