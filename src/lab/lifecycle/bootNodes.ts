import type { NodePlan } from '../../plan/labPlan.js';
import { LabError } from '../labError.js';
import { waitForCloudInit } from '../node/cloudInitReady.js';
import { nodeLogTail, startQemu } from '../node/qemuProcess.js';
import { readinessFailure, waitForNode } from '../node/readiness.js';
import { argvForStart } from '../node/relink.js';
import { waitForRemoteListeners } from '../node/remoteListener.js';
import { waitForSession } from '../node/sessionReady.js';
import type { VmFault } from '../node/vmWatch.js';
import { writeState } from '../state/labState.js';
import { defaultMaxParallel, scheduleBoots } from './bootScheduler.js';
import type { Deployment } from './deployment.js';
import { portsStillBusy } from './portCheck.js';

export interface BootOutcome {
  failures: string[];
  /** A guest KVM killed before it was ready: the deploy starts again under TCG. */
  kvmCrash?: { node: string; fault: VmFault };
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const portText = (b: { address: string; port: number; use: string }) => `${b.address}:${b.port} (${b.use})`;

const cancelled = () => new LabError('cancelled', 'deploy cancelled');

/**
 * Boot every node in waves of at most `maxParallel` (a node holds its slot
 * until it is ready), listeners before connectors, and wait for each.
 */
export async function bootAll(d: Deployment): Promise<BootOutcome> {
  const { plan, reporter } = d;
  const out: BootOutcome = { failures: [] };
  const all = new AbortController();
  if (d.signal?.aborted) all.abort();
  const onAbort = () => all.abort();
  d.signal?.addEventListener('abort', onAbort, { once: true });
  const node = (name: string) => plan.nodes.find((n) => n.name === name)!;
  const limit = Math.min(d.maxParallel ?? defaultMaxParallel(plan.accel), plan.nodes.length);
  const waves = limit < plan.nodes.length ? ` (${Math.ceil(plan.nodes.length / limit)} waves)` : '';
  reporter.info(`  booting ${plan.nodes.length} node(s), at most ${limit} at a time${waves}`);
  try {
    const start = async (name: string) => {
      try {
        await startOne(d, node(name));
      } catch (err) {
        all.abort(); // what is booting stops waiting: the deploy rolls back
        throw err;
      }
    };
    const ready = (name: string) => readyOne(d, node(name), all, out);
    const starting = (name: string, at: { index: number; wave: number; waves: number; booting: number }) => {
      if (at.index % limit === 0 && limit < plan.nodes.length) {
        reporter.info(`  wave ${at.wave}/${at.waves}: ${plan.startOrder.slice(at.index, at.index + limit).join(', ')}`);
      }
      reporter.verbose(`${name}: starting (${at.booting} booting)`);
    };
    await scheduleBoots(plan.nodes, plan.startOrder, limit, { start, ready, starting }, all.signal);
  } finally {
    d.signal?.removeEventListener('abort', onAbort);
  }
  return out;
}

/**
 * Start one node's QEMU once its remote listeners answer; records when it
 * started and its pid (state.json is written at once: a killed deploy is
 * cleaned up by pid).
 */
async function startOne(d: Deployment, node: NodePlan): Promise<void> {
  const { plan, state, reporter } = d;
  const stopped = () => state.status === 'failed';
  if (stopped()) throw cancelled();
  await waitForRemoteListeners(node, Date.now() + node.bootTimeoutS * 1000, stopped, reporter.info);
  const busy = await portsStillBusy(node, 30_000, stopped);
  if (stopped()) throw cancelled();
  if (busy.length) {
    throw new LabError(
      'ports_in_use',
      `${node.name} cannot start: ports taken since the deploy began: ${busy.map(portText).join(', ')}`,
      {
        hint:
          'something on this host took them meanwhile (the default port bases lie in the ephemeral range a client ' +
          'socket may pick): move the port bases in topology.json, or deploy again',
      },
    );
  }
  d.startedAt.set(node.name, Date.now());
  const argv = [...argvForStart(plan, node, state), ...d.source.qemuArgs(node)];
  const pid = await startQemu(node, argv, reporter.verbose, (p) => (state.nodes[node.name]!.pid = p));
  state.nodes[node.name]!.pid = pid;
  state.nodes[node.name]!.accel = plan.accel;
  writeState(plan.files.state, state);
  reporter.verbose(`${node.name}: QEMU pid ${pid} up`);
}

/**
 * Wait until one node is usable while watching its VM, and report it. Ready
 * means an SSH session runs (for a cloud image: cloud-init has finished),
 * not the first banner. A node whose VM fails stops its own wait at once;
 * under KVM an internal-error stops every wait (the lab starts again under TCG).
 */
async function readyOne(d: Deployment, n: NodePlan, all: AbortController, out: BootOutcome): Promise<void> {
  const { state, reporter } = d;
  const ns = state.nodes[n.name]!;
  const startedAt = d.startedAt.get(n.name) ?? d.t0;
  const deadline = startedAt + n.bootTimeoutS * 1000;
  const fail = (error: string, report: string) => {
    ns.status = 'failed';
    ns.error = error;
    out.failures.push(report);
  };
  const r = await waitForNode(n, ns.pid!, startedAt, n.bootTimeoutS * 1000, all.signal);
  if (all.signal.aborted && !r.banner) return;
  if (r.fault?.kind === 'internal-error' && d.plan.accel === 'kvm') {
    out.kvmCrash ??= { node: n.name, fault: r.fault };
    all.abort();
    return;
  }
  if (!r.banner) {
    const why = readinessFailure(r, n);
    return fail(why.message, [why.message, `  next: ${why.hint}`, nodeLogTail(n)].filter(Boolean).join('\n'));
  }
  try {
    await d.source.answered(state, n, d.env);
  } catch (err) {
    return fail((err as Error).message, (err as Error).message);
  }
  const wait = { deadline, env: d.env, stop: all.signal };
  const usable = n.seed ? await waitForCloudInit(state, n, wait) : await waitForSession(state, n, wait);
  if (all.signal.aborted) return;
  if (!usable.ok) return fail(usable.error, [`${n.name}: ${usable.error}`, nodeLogTail(n)].filter(Boolean).join('\n'));
  if ('warning' in usable && usable.warning) reporter.warn(`${n.name}: ${usable.warning}`);
  ns.status = 'running';
  ns.boot_ms = Date.now() - d.t0;
  reporter.info(`  ${n.name} ready after ${secs(ns.boot_ms)} (ssh -p ${n.sshPort} ${n.credentials.user}@${n.mgmtIp})`);
}
