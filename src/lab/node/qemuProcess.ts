import { existsSync, readFileSync } from 'node:fs';
import type { NodePlan } from '../../plan/labPlan.js';
import { QmpClient, qmpCommand } from '../../qemu/qmp.js';
import { QemuError } from '../../qemu/qemuError.js';
import { tailLines, startDetached } from '../../host/subprocess.js';
import { isAlive, isOurQemu, sleep, terminate, waitForExit } from '../../host/processes.js';
import { passtOf, startPasst, stopPasst } from './passtProcess.js';
import { qemuForwardPort, relayOf, startRelay } from './sshRelay.js';

export type Log = (line: string) => void;

/** The CPU register dump QEMU prints after "KVM internal error": for the log, not the terminal. */
const REGISTER_DUMP = new RegExp(
  String.raw`^(extra data\[\d+\]|emulation failure|E?[A-Z]{2,3}=|[CDEFGS]S =|LDT=|TR =|[GI]DT=|CR\d=|DR\d=|` +
    String.raw`EFER=|Code=|[XY]MM\d|FPR\d|FCW=|PDPTE|R\d+ +=)`,
);

/** QEMU's own log without noise: the empty-hub warning of unwired NICs, register dumps. */
export function qemuLogForPeople(text: string, logPath: string): string {
  // An unwired NIC's empty hub is intended: QEMU's warning about it is noise.
  // So is the never-connected slirp beside passt (qemu/mgmtNet).
  const lines = text
    .replace(/^.*warning: hub \d+ is not connected to host network\n?/gm, '')
    .replace(/^.*warning: netdev mgmtslirp has no peer\n?/gm, '')
    .split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (!REGISTER_DUMP.test(line)) out.push(line);
    else if (!out[out.length - 1]?.startsWith('(register dump')) out.push(`(register dump in ${logPath})`);
  }
  return out.join('\n');
}

/** The last lines QEMU and the guest wrote: what a failure message shows. */
export function nodeLogTail(node: Pick<NodePlan, 'files'>, lines = 8): string {
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
  const qemu = tailLines(qemuLogForPeople(read(node.files.log), node.files.log), lines);
  const serial = tailLines(read(node.files.serialLog).replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''), lines);
  return [
    qemu && `qemu[stderr]:\n${qemu.replace(/^/gm, '  ')}`,
    serial && `serial console:\n${serial.replace(/^/gm, '  ')}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Start a node's QEMU detached (the VM outlives this command) and return
 * its pid once QMP answers: by then every -netdev, including listening
 * link sockets, is set up.
 */
export async function startQemu(
  node: NodePlan,
  argv: string[],
  log: Log,
  onSpawn?: (pid: number) => void,
  timeoutMs = 30_000,
): Promise<number> {
  const passt = passtOf(node);
  const relay = relayOf(node);
  if (passt) await startPasst(node, passt, log);
  let pid: number | undefined;
  try {
    pid = await spawnQemu(node, argv, log, onSpawn, timeoutMs);
    if (relay) await startRelay(node, relay, { port: node.sshPort, target: await qemuForwardPort(node) }, pid, log);
    return pid;
  } catch (err) {
    if (passt) await stopPasst(passt);
    if (pid) await terminate(pid);
    throw err;
  }
}

type OnSpawn = ((pid: number) => void) | undefined;

async function spawnQemu(node: NodePlan, argv: string[], log: Log, onSpawn: OnSpawn, timeoutMs: number) {
  log(`exec ${argv.join(' ')}`);
  const child = startDetached(argv, { log: node.files.log });
  if (child.pid) onSpawn?.(child.pid);

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const spawnError = child.spawnError();
    const exited = child.exited();
    if (spawnError)
      throw new QemuError('qemu_failed', `cannot run ${argv[0]} (${spawnError.message})`, {
        argv,
        hint: 'install QEMU: apt-get install qemu-system-x86',
      });
    if (exited) {
      const how = exited.signal ? `killed by ${exited.signal}` : `exit code ${exited.code}`;
      throw new QemuError('qemu_failed', `QEMU for ${node.name} stopped at start-up (${how})`, {
        argv,
        logTail: nodeLogTail(node),
      });
    }
    if (existsSync(node.files.qmp)) {
      try {
        const qmp = await QmpClient.connect(node.files.qmp, 2000);
        qmp.close();
        return child.pid!;
      } catch {
        /* not listening yet */
      }
    }
    await sleep(25);
  }
  if (child.pid) await terminate(child.pid);
  throw new QemuError('qemu_failed', `QEMU for ${node.name} did not answer on QMP within ${timeoutMs / 1000} s`, {
    argv,
    logTail: nodeLogTail(node),
  });
}

/**
 * Stop a node in logged steps: ACPI power-down (the guest shuts down
 * cleanly), then QMP quit, then SIGTERM/SIGKILL.
 */
export async function stopQemu(
  node: NodePlan,
  pid: number,
  opts: { graceful: boolean; timeoutMs: number },
  log: Log,
): Promise<void> {
  if (!isAlive(pid) || !isOurQemu(pid, node.files.qmp)) return;
  if (opts.graceful) {
    try {
      await qmpCommand(node.files.qmp, 'system_powerdown');
      if (await waitForExit(pid, opts.timeoutMs)) return;
      log(`${node.name}: guest did not power off within ${opts.timeoutMs / 1000} s; quitting QEMU`);
    } catch (err) {
      log(`${node.name}: QMP power-down failed (${(err as Error).message}); quitting QEMU`);
    }
  }
  try {
    await qmpCommand(node.files.qmp, 'quit');
    if (await waitForExit(pid, 3000)) return;
    log(`${node.name}: QEMU did not quit; sending SIGTERM`);
  } catch (err) {
    log(`${node.name}: QMP quit failed (${(err as Error).message}); sending SIGTERM`);
  }
  await terminate(pid);
}
