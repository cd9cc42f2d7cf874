import { existsSync } from 'node:fs';
import { LabError } from './labError.js';
import { withLabLock } from './labLock.js';
import { writeState, type LabState } from './labState.js';
import { loadLab, nodeOf, type LabRef } from './labSelect.js';
import { isAlive, isOurQemu } from './processes.js';
import { nodeLogTail, startQemu, stopQemu } from './qemuProcess.js';
import { readinessFailure, waitForSsh } from './readiness.js';
import { argvForStart, relinkNic, tcpPeersOf } from './relink.js';
import type { Reporter } from './reporter.js';

/** Is the node's recorded QEMU still the one running? */
export function nodeIsUp(state: LabState, node: string): boolean {
  const ns = state.nodes[node];
  const plan = state.plan.nodes.find((n) => n.name === node);
  return Boolean(ns?.pid && plan && isAlive(ns.pid) && isOurQemu(ns.pid, plan.files.qmp));
}

/** The node's plan, if its QEMU is running; otherwise an error that says how to start it. */
export function runningNode(state: LabState, name: string) {
  const node = nodeOf(state, name);
  if (!nodeIsUp(state, name)) {
    throw new LabError(`${name} is not running (${state.nodes[name]?.status ?? 'unknown'})`, `start it: vmlab start ${name}`);
  }
  return node;
}

/** Stop one node; its overlay (disk) is kept. */
export async function stopNode(ref: LabRef, name: string, opts: { timeoutMs: number; force: boolean }, reporter: Reporter): Promise<'stopped' | 'already'> {
  const state0 = loadLab(ref);
  const node = nodeOf(state0, name);
  return withLabLock(state0.plan.files.lock, ref.name, async () => {
    const state = loadLab(ref);
    const ns = state.nodes[name]!;
    if (!nodeIsUp(state, name)) {
      ns.status = 'stopped';
      ns.pid = null;
      writeState(state.plan.files.state, state);
      return 'already';
    }
    await stopQemu(node, ns.pid!, { graceful: !opts.force, timeoutMs: opts.timeoutMs }, (m) => reporter.info(m));
    ns.status = 'stopped';
    ns.pid = null;
    ns.link_generation = {};
    writeState(state.plan.files.state, state);
    return 'stopped';
  });
}

/**
 * Start a stopped node and give it its links back: peers that listen get a
 * fresh listening socket before it starts; peers that connect to it are
 * re-linked once it listens. UDP links need neither.
 */
export async function startNode(ref: LabRef, name: string, reporter: Reporter): Promise<{ bootMs: number; already: boolean }> {
  const state0 = loadLab(ref);
  const node = nodeOf(state0, name);
  return withLabLock(state0.plan.files.lock, ref.name, async () => {
    const state = loadLab(ref);
    const plan = state.plan;
    if (nodeIsUp(state, name)) return { bootMs: 0, already: true };
    if (!existsSync(node.files.overlay)) throw new LabError(`the disk of ${name} is gone (${node.files.overlay})`, 'redeploy the lab');
    const t0 = Date.now();
    const ns = state.nodes[name]!;
    ns.link_generation = {};

    const before = tcpPeersOf(plan, name, state);
    for (const p of before.listeners) {
      if (nodeIsUp(state, p.node.name)) await relinkNic(p, state);
    }
    ns.status = 'starting';
    ns.pid = await startQemu(node, argvForStart(plan, node, state), reporter.verbose);
    for (const p of before.connectors) {
      if (nodeIsUp(state, p.node.name)) {
        reporter.verbose(`re-linking ${p.node.name} NIC ${p.nic} to ${name}`);
        await relinkNic(p, state);
      }
    }
    writeState(plan.files.state, state);

    const r = await waitForSsh(node.sshPort, node.bootTimeoutS * 1000, () => isAlive(ns.pid!));
    if (!r.banner) {
      ns.status = 'failed';
      ns.error = readinessFailure(r, node.bootTimeoutS);
      writeState(plan.files.state, state);
      throw new LabError(`${name} did not come up: ${ns.error}\n${nodeLogTail(node)}`, `see ${node.files.serialLog}`);
    }
    ns.status = 'running';
    delete ns.error;
    writeState(plan.files.state, state);
    return { bootMs: Date.now() - t0, already: false };
  });
}
