import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import type { MgmtNet, NodePlan } from '../../plan/labPlan.js';
import { QemuError } from '../../qemu/qemuError.js';
import { tailLines, runSync } from '../../host/subprocess.js';
import { stopByPidFile } from '../../host/processes.js';
import { whichBinary } from '../../host/which.js';
import { scanLabHelpers } from '../state/labScan.js';

type PasstNet = Extract<MgmtNet, { mode: 'passt' }>;

/** passt's path ($VMLAB_PASST if executable, else the first on PATH), or undefined when it is not installed. */
export function findPasst(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.VMLAB_PASST) return whichBinary('passt', env);
  try {
    accessSync(env.VMLAB_PASST, constants.X_OK);
    return env.VMLAB_PASST;
  } catch {
    return undefined;
  }
}

export const passtOf = (node: Pick<NodePlan, 'nics'>): PasstNet | undefined => {
  const b = node.nics[0]?.backend;
  return b?.kind === 'user' && b.net?.mode === 'passt' ? b.net : undefined;
};

/** Live passt processes serving a socket under `labDir`/qemu (by their command line, as QEMUs are found). */
export const scanLabPassts = (labDir: string): number[] => scanLabHelpers(labDir, /passt/);

/**
 * Stop a passt still waiting on this socket (its QEMU never came, or vmlab
 * died between starting them): it would hold the SSH port.
 */
export const stopPasst = (net: PasstNet): Promise<void> =>
  stopByPidFile(net.pidFile, (argv) => argv.includes(net.socket));

/**
 * Start a node's passt before its QEMU: daemonized and listening on its
 * socket when this returns; it quits with the QEMU it serves (--one-off).
 * Run as root, passt would drop to `nobody` and could not use the lab's
 * private qemu/ dir: it keeps the lab owner's uid.
 */
export async function startPasst(node: NodePlan, net: PasstNet, log: (line: string) => void): Promise<void> {
  await stopPasst(net);
  rmSync(net.socket, { force: true });
  const argv = [...net.argv, ...(process.getuid?.() === 0 ? ['--runas', '0:0'] : [])];
  log(`exec ${argv.join(' ')}`);
  const r = runSync(argv, { timeoutMs: 15e3 });
  if (r.spawnError || r.timedOut || r.exitCode !== 0 || !existsSync(net.socket)) {
    const why = r.spawnError?.message ?? (r.timedOut ? 'no exit within 15 s' : `exit code ${r.exitCode}`);
    const logText = existsSync(net.log) ? readFileSync(net.log, 'utf8') : '';
    throw new QemuError('qemu_failed', `passt for ${node.name}'s management network did not start (${why})`, {
      argv,
      logTail: tailLines(`${r.stderr}${logText}`, 8),
      hint: 'install passt (apt-get install passt), or turn management egress off for this node',
    });
  }
}
