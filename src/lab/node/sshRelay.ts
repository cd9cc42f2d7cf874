import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NodePlan, SshRelay } from '../../plan/labPlan.js';
import { QemuError } from '../../qemu/qemuError.js';
import { forwardedPort, relayOfNet } from '../../qemu/mgmtNet.js';
import { qmpCommand } from '../../qemu/qmp.js';
import { tailLines, startDetached } from '../../host/subprocess.js';
import { sleep, stopByPidFile, terminate } from '../../host/processes.js';
import { scanLabHelpers } from '../state/labScan.js';

const MAIN = fileURLToPath(new URL('./sshRelayMain.js', import.meta.url));

/** The relay a node's management NIC asks for (a multi-host node without egress). */
export const relayOf = (node: Pick<NodePlan, 'nics'>): SshRelay | undefined => {
  const b = node.nics[0]?.backend;
  return b?.kind === 'user' ? relayOfNet(b.net) : undefined;
};

const isRelay = (argv: string[]) => argv[1] === MAIN || argv[1]?.endsWith('/sshRelayMain.js') === true;

/** Live relays of a lab (their pid file lies in its qemu/ dir). */
export const scanLabRelays = (labDir: string): number[] => scanLabHelpers(labDir, /node/, isRelay);

/** Stop the relay named by this pid file, if it still runs (a node restarted before its relay noticed). */
export const stopRelay = (relay: SshRelay): Promise<void> =>
  stopByPidFile(relay.pidFile, (argv) => isRelay(argv) && argv.includes(relay.pidFile));

/** Where QEMU forwards the node's SSH on 127.0.0.1 (a port the kernel chose: qemu/mgmtNet). */
export async function qemuForwardPort(node: Pick<NodePlan, 'name' | 'files'>): Promise<number> {
  const info = await qmpCommand(node.files.qmp, 'human-monitor-command', { 'command-line': 'info usernet' });
  const port = forwardedPort(String(info));
  if (!port)
    throw new QemuError('qemu_failed', `QEMU for ${node.name} shows no SSH forward on 127.0.0.1`, {
      argv: ['info usernet'],
      logTail: String(info),
    });
  return port;
}

/**
 * Start a node's SSH relay once its QEMU forwards SSH on 127.0.0.1:`target`:
 * it holds `relay.listen`:`port` when this returns, and quits with that QEMU.
 */
export async function startRelay(
  node: NodePlan,
  relay: SshRelay,
  ports: { port: number; target: number },
  qemuPid: number,
  log: (line: string) => void,
): Promise<void> {
  await stopRelay(relay);
  const { port, target } = ports;
  const argv = [
    process.execPath,
    MAIN,
    relay.listen,
    String(port),
    String(target),
    String(qemuPid),
    node.files.qmp,
    relay.pidFile,
  ];
  log(`exec ${argv.join(' ')}`);
  const child = startDetached(argv, { log: relay.log });
  const ended = () => child.exited() !== undefined || child.spawnError() !== undefined;
  for (const end = Date.now() + 10_000; Date.now() < end && !ended(); await sleep(25)) {
    if (existsSync(relay.pidFile)) return;
  }
  if (!ended() && child.pid) await terminate(child.pid);
  throw new QemuError('qemu_failed', `the SSH relay of ${node.name} did not start on ${relay.listen}:${port}`, {
    argv,
    logTail: tailLines(existsSync(relay.log) ? readFileSync(relay.log, 'utf8') : '', 8),
    hint: `free ${relay.listen}:${port} (the node's SSH port), or give the lab another ssh_port_base`,
  });
}
