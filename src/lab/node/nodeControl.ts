import { existsSync } from 'node:fs';
import { LabError } from '../labError.js';
import { writeState, type LabState } from '../state/labState.js';
import { nodeOf, type LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import { accelFacts } from '../../host/accel.js';
import { fallBackToTcg, switchToTcg } from './kvmFallback.js';
import { livePid } from '../state/labScan.js';
import { nodeLogTail, startQemu, stopQemu } from './qemuProcess.js';
import { readinessFailure, waitForNode, type NodeReadiness } from './readiness.js';
import { waitForSession } from './sessionReady.js';
import { argvForStart, relinkNic, tcpPeersOf } from './relink.js';
import { waitForRemoteListeners } from './remoteListener.js';
import type { Reporter } from '../../host/reporter.js';

/**
 * Is the node's QEMU running? The recorded pid if it is still ours, else
 * one found by its lab path (a deploy killed before it wrote the pid).
 * A found pid is written back into `state`.
 */
export function nodeIsUp(state: LabState, node: string): boolean {
  const pid = livePid(state, node);
  if (pid && state.nodes[node]) state.nodes[node]!.pid = pid;
  return pid !== null;
}

/** The node's plan, if its QEMU is running; otherwise an error that says how to start it. */
export function runningNode(state: LabState, name: string) {
  const node = nodeOf(state, name);
  if (!nodeIsUp(state, name)) {
    throw new LabError('node_not_running', `${name} is not running (${state.nodes[name]?.status ?? 'unknown'})`, {
      hint: `start it: vmlab start ${name}`,
    });
  }
  return node;
}

/** Stop one node; its overlay (disk) is kept. */
export async function stopNode(
  ref: LabRef,
  name: string,
  opts: { timeoutMs: number; force: boolean },
  reporter: Reporter,
): Promise<'stopped' | 'already'> {
  const before = (state: LabState) => void nodeOf(state, name);
  return withLab(ref, { refuseInterrupted: true, before }, async (state) => {
    const node = nodeOf(state, name);
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
 * Start one node's QEMU with its links (peers that listen get a fresh
 * socket first, peers that connect are re-linked once it listens) and wait
 * until it answers SSH or its VM fails.
 */
async function bootNode(state: LabState, name: string, reporter: Reporter): Promise<NodeReadiness> {
  const plan = state.plan;
  const node = nodeOf(state, name);
  const ns = state.nodes[name]!;
  ns.link_generation = {};
  const before = tcpPeersOf(plan, name, state);
  for (const p of before.listeners) {
    if (nodeIsUp(state, p.node.name)) await relinkNic(p, state);
  }
  // Multi-host: a listener on another host is not this state's to re-link; wait until it listens.
  await waitForRemoteListeners(node, Date.now() + node.bootTimeoutS * 1000, () => false, reporter.info);
  ns.status = 'starting';
  const startedAt = Date.now();
  ns.pid = await startQemu(node, argvForStart(plan, node, state), reporter.verbose);
  ns.accel = plan.accel;
  for (const p of before.connectors) {
    if (nodeIsUp(state, p.node.name)) {
      reporter.verbose(`re-linking ${p.node.name} NIC ${p.nic} to ${name}`);
      await relinkNic(p, state);
    }
  }
  writeState(plan.files.state, state);
  return waitForNode(node, ns.pid, startedAt, node.bootTimeoutS * 1000);
}

/**
 * Start a stopped node and give it its links back: peers that listen get a
 * fresh listening socket before it starts; peers that connect to it are
 * re-linked once it listens. UDP links need neither.
 */
export async function startNode(
  ref: LabRef,
  name: string,
  reporter: Reporter,
  env: NodeJS.ProcessEnv,
): Promise<{ bootMs: number; already: boolean }> {
  const before = (state: LabState) => void nodeOf(state, name);
  return withLab(ref, { refuseInterrupted: true, before }, async (state) => {
    const node = nodeOf(state, name);
    if (nodeIsUp(state, name)) return { bootMs: 0, already: true };
    if (!existsSync(node.files.overlay))
      throw new LabError('disk_missing', `the disk of ${name} is gone (${node.files.overlay})`, {
        hint: 'redeploy the lab',
      });
    const t0 = Date.now();
    // KVM may have been found broken since the lab was deployed.
    if (state.plan.accel === 'kvm' && (await accelFacts({ qemuBinary: state.plan.qemuBinary, env })).accel === 'tcg')
      switchToTcg(state);
    let r = await bootNode(state, name, reporter);
    if (r.fault?.kind === 'internal-error' && state.plan.accel === 'kvm') {
      fallBackToTcg(state, { node: name, fault: r.fault }, reporter, name, env);
      await stopQemu(node, state.nodes[name]!.pid!, { graceful: false, timeoutMs: 0 }, reporter.verbose);
      r = await bootNode(state, name, reporter);
    }
    const ns = state.nodes[name]!;
    if (!r.banner) {
      const why = readinessFailure(r, node);
      ns.status = 'failed';
      ns.error = why.message;
      writeState(state.plan.files.state, state);
      throw new LabError('node_not_ready', `${name} did not come up: ${why.message}\n${nodeLogTail(node)}`, {
        hint: why.hint,
      });
    }
    // Ready means usable: a session runs, as after a deploy.
    const usable = await waitForSession(state, node, { deadline: t0 + node.bootTimeoutS * 1000, env });
    if (!usable.ok) {
      ns.status = 'failed';
      ns.error = `${name}: ${usable.error}`;
      writeState(state.plan.files.state, state);
      throw new LabError('node_not_ready', `${name} did not come up: ${usable.error}`, {
        hint: `watch it boot with: vmlab console ${name}`,
      });
    }
    ns.status = 'running';
    delete ns.error;
    writeState(state.plan.files.state, state);
    return { bootMs: Date.now() - t0, already: false };
  });
}
