import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LabPlan, NodePlan } from '../../plan/labPlan.js';
import { imagePathsOf, planLab, resolveLab } from '../../plan/planLab.js';
import { loadSpec } from '../../spec/loadSpec.js';
import { createOverlay } from '../../qemu/qemuImg.js';
import { LabError } from '../labError.js';
import { withLabDir } from '../state/withLab.js';
import { initialState, readState, writeState, type LabState } from '../state/labState.js';
import { busyPorts, portsStillBusy } from './portCheck.js';
import { terminate } from '../../host/processes.js';
import { nodeLogTail, startQemu, stopQemu } from '../node/qemuProcess.js';
import { readinessFailure, waitForNode } from '../node/readiness.js';
import type { Reporter } from '../../host/reporter.js';
import { applyProfilePatches, restoreProfiles } from './profiles.js';
import { generateKey, writeSshConfig } from '../node/sshFiles.js';
import { writeInventoryFiles } from '../state/labOutputs.js';
import { probeHost, type ImageFactsResolver } from '../node/hostProbe.js';
import { argvForStart } from '../node/relink.js';
import { waitForRemoteListeners } from '../node/remoteListener.js';
import { writeNodeSeed } from './seeds.js';
import { waitForCloudInit } from '../node/cloudInitReady.js';
import { waitForSession } from '../node/sessionReady.js';
import { defaultMaxParallel, scheduleBoots } from './bootScheduler.js';
import type { AccelFacts } from '../../host/accel.js';
import { fallBackToTcg } from '../node/kvmFallback.js';
import type { VmFault } from '../node/vmWatch.js';
import { deployInterrupted, findQemusUnder, scanLabQemus } from '../state/labScan.js';
import { placeWarmFiles, type WarmStart } from '../snapshot/snapshotArchive.js';
import { qemuBinaryVersion, setClockWithRetry } from '../snapshot/snapshot.js';
import { checkCheckpoints, giveIdentity, placeCheckpointDisk } from '../snapshot/checkpoint.js';

export interface PlannedLab {
  plan: LabPlan;
  accelReason: string;
  accelFacts?: AccelFacts;
}

/**
 * Load → resolve → probe → plan. Throws SpecError for bad input; starts
 * nothing. Multi-host: `host` is this machine's entry; only its nodes' images are probed.
 */
export async function planDeploy(specDir: string, images: ImageFactsResolver, env: NodeJS.ProcessEnv = process.env, opts: { host?: string } = {}): Promise<PlannedLab> {
  const spec = loadSpec(specDir);
  const resolved = resolveLab(spec, homedir());
  const mine = resolved.filter((n) => opts.host === undefined || n.host === opts.host);
  const facts = await probeHost(imagePathsOf(mine), images, env);
  return { plan: planLab(spec, resolved, facts, opts), accelReason: facts.accelReason, accelFacts: facts.accelFacts };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Start one node's QEMU once its remote listeners answer; records when it started and its pid (state.json is written at once: a killed deploy is cleaned up by pid). */
async function startOne(plan: LabPlan, node: NodePlan, state: LabState, reporter: Reporter, startedAt: Map<string, number>, extraArgs: string[]): Promise<void> {
  const stopped = () => state.status === 'failed';
  if (stopped()) throw new LabError('deploy cancelled');
  await waitForRemoteListeners(node, Date.now() + node.bootTimeoutS * 1000, stopped, reporter.info);
  const busy = await portsStillBusy(node, 30_000, stopped);
  if (stopped()) throw new LabError('deploy cancelled');
  if (busy.length) {
    throw new LabError(
      `${node.name} cannot start: ports taken since the deploy began: ${busy.map((b) => `${b.address}:${b.port} (${b.use})`).join(', ')}`,
      'something on this host took them meanwhile (the default port bases lie in the ephemeral range a client socket may pick): move the port bases in topology.json, or deploy again',
    );
  }
  startedAt.set(node.name, Date.now());
  const pid = await startQemu(node, [...argvForStart(plan, node, state), ...extraArgs], reporter.verbose, (p) => (state.nodes[node.name]!.pid = p));
  state.nodes[node.name]!.pid = pid;
  state.nodes[node.name]!.accel = plan.accel;
  writeState(plan.files.state, state);
  reporter.verbose(`${node.name}: QEMU pid ${pid} up`);
}

interface ReadyOutcome {
  failures: string[];
  /** A guest KVM killed before it was ready: the deploy starts again under TCG. */
  kvmCrash?: { node: string; fault: VmFault };
}

/**
 * Wait until one node is usable while watching its VM, and report it. Ready
 * means an SSH session runs (for a cloud image: cloud-init has finished),
 * not the first banner. A node whose VM fails stops its own wait at once;
 * under KVM an internal-error stops every wait (the lab starts again under TCG).
 */
async function readyOne(plan: LabPlan, n: NodePlan, state: LabState, reporter: Reporter, t0: number, startedAt: number, all: AbortController, out: ReadyOutcome, fromCheckpoints: boolean): Promise<void> {
  const ns = state.nodes[n.name]!;
  const deadline = startedAt + n.bootTimeoutS * 1000;
  const r = await waitForNode(n, ns.pid!, startedAt, n.bootTimeoutS * 1000, all.signal);
  if (all.signal.aborted && !r.banner) return;
  if (r.fault?.kind === 'internal-error' && plan.accel === 'kvm') {
    out.kvmCrash ??= { node: n.name, fault: r.fault };
    all.abort();
    return;
  }
  if (!r.banner) {
    const why = readinessFailure(r, n);
    ns.status = 'failed';
    ns.error = why.message;
    out.failures.push([why.message, `  next: ${why.hint}`, nodeLogTail(n)].filter(Boolean).join('\n'));
    return;
  }
  if (n.checkpoint && fromCheckpoints) {
    // Started from a library checkpoint: the guest is still the saved node until it is given its own identity.
    try {
      await giveIdentity(state, n);
      await setClockWithRetry(state, n.name);
    } catch (err) {
      ns.status = 'failed';
      ns.error = (err as Error).message;
      out.failures.push(ns.error);
      return;
    }
  }
  const usable = n.seed ? await waitForCloudInit(state, n, deadline, all.signal) : await waitForSession(state, n, deadline, all.signal);
  if (all.signal.aborted) return;
  if (!usable.ok) {
    ns.status = 'failed';
    ns.error = usable.error;
    out.failures.push([`${n.name}: ${usable.error}`, nodeLogTail(n)].filter(Boolean).join('\n'));
    return;
  }
  if ('warning' in usable && usable.warning) reporter.warn(`${n.name}: ${usable.warning}`);
  ns.status = 'running';
  ns.boot_ms = Date.now() - t0;
  reporter.info(`  ${n.name} ready after ${secs(ns.boot_ms)} (ssh -p ${n.sshPort} ${n.credentials.user}@${n.mgmtIp})`);
}

/**
 * Boot every node in waves of at most `maxParallel` (a node holds its slot
 * until it is ready), listeners before connectors, and wait for each.
 */
async function bootAll(plan: LabPlan, state: LabState, reporter: Reporter, t0: number, startedAt: Map<string, number>, opts: { extraArgs: (n: NodePlan) => string[]; fromCheckpoints: boolean; maxParallel: number; signal?: AbortSignal }): Promise<ReadyOutcome> {
  const out: ReadyOutcome = { failures: [] };
  const all = new AbortController();
  if (opts.signal?.aborted) all.abort();
  const onAbort = () => all.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const node = (name: string) => plan.nodes.find((n) => n.name === name)!;
  const limit = Math.min(opts.maxParallel, plan.nodes.length);
  reporter.info(`  booting ${plan.nodes.length} node(s), at most ${limit} at a time${limit < plan.nodes.length ? ` (${Math.ceil(plan.nodes.length / limit)} waves)` : ''}`);
  try {
    await scheduleBoots(
      plan.nodes,
      plan.startOrder,
      limit,
      {
        start: async (name) => {
          try {
            await startOne(plan, node(name), state, reporter, startedAt, opts.extraArgs(node(name)));
          } catch (err) {
            all.abort(); // what is booting stops waiting: the deploy rolls back
            throw err;
          }
        },
        ready: (name) => readyOne(plan, node(name), state, reporter, t0, startedAt.get(name) ?? t0, all, out, opts.fromCheckpoints),
        starting: (name, at) => {
          if (at.index % limit === 0 && limit < plan.nodes.length) reporter.info(`  wave ${at.wave}/${at.waves}: ${plan.startOrder.slice(at.index, at.index + limit).join(', ')}`);
          reporter.verbose(`${name}: starting (${at.booting} booting)`);
        },
      },
      all.signal,
    );
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return out;
}

/** Stop every QEMU of the lab now (recorded or found by its lab path). */
async function killAll(plan: LabPlan, state: LabState, reporter: Reporter): Promise<void> {
  await Promise.all(
    plan.nodes.map(async (n) => {
      const pid = state.nodes[n.name]!.pid;
      if (pid) await stopQemu(n, pid, { graceful: false, timeoutMs: 0 }, reporter.verbose);
      state.nodes[n.name]!.pid = null;
    }),
  );
  // A QEMU spawned but not yet recorded (interrupted mid-start) is found by its lab path.
  for (const pid of findQemusUnder(plan.files.dir)) await terminate(pid);
}

const cancelled = (plan: LabPlan) =>
  new LabError(`deploy of lab "${plan.name}" interrupted: everything it started was stopped`, `deploy it again: vmlab deploy -S ${plan.specDir}`, 'failure', 'cancelled');

/** Restore what this lab wrote into the profiles; its record goes once that worked. */
function undoProfiles(plan: LabPlan, reporter: Reporter): void {
  const r = restoreProfiles(plan.files);
  if (r.problem) reporter.warn(`profiles not fully restored: ${r.problem}; the originals stay in ${plan.files.profileBackups}`);
  else rmSync(plan.files.profileBackups, { recursive: true, force: true });
}

/** Undo a deploy that failed: no process, no overlay, profiles as before; logs stay. */
async function rollback(plan: LabPlan, state: LabState, reporter: Reporter): Promise<void> {
  state.status = 'failed'; // also stops bootAll from starting more
  await killAll(plan, state, reporter);
  for (const ns of Object.values(state.nodes)) if (ns.status !== 'failed') ns.status = 'stopped';
  undoProfiles(plan, reporter);
  for (const d of ['disks', 'qemu', 'keys']) rmSync(join(plan.files.dir, d), { recursive: true, force: true });
  state.status = 'failed';
  writeState(plan.files.state, state);
}

/**
 * What an earlier deploy of this lab left: a failed one is cleared, an
 * interrupted one (its vmlab was killed) is rolled back first; a running
 * lab, or QEMUs with no state, stop the new deploy.
 */
async function clearEarlierAttempt(plan: LabPlan, reporter: Reporter): Promise<void> {
  const live = scanLabQemus(plan.files.dir);
  if (!existsSync(plan.files.state)) {
    if (live.size === 0) return;
    throw new LabError(
      `lab "${plan.name}" has ${live.size} QEMU process(es) running but no state.json`,
      `stop them and clean up first: vmlab destroy ${plan.name}`,
    );
  }
  const prev = readState(plan.files.state);
  if (deployInterrupted(prev)) {
    reporter.warn(`an earlier deploy of "${plan.name}" was interrupted (vmlab pid ${prev.owner_pid ?? '?'} is gone); cleaning up what it left`);
    await killAll(prev.plan, prev, reporter);
    undoProfiles(prev.plan, reporter);
  } else if (prev.status !== 'failed' || live.size > 0) {
    throw new LabError(`lab "${plan.name}" is already deployed`, `destroy it first: vmlab destroy ${plan.name}`, 'conflict', 'lab_exists');
  }
  for (const d of ['disks', 'qemu', 'keys', 'logs']) rmSync(join(plan.files.dir, d), { recursive: true, force: true });
}

/** Lab directories hold keys, passwords and QMP sockets: owner only. */
function makePrivateDirs(plan: LabPlan): void {
  for (const d of [dirname(dirname(plan.files.dir)), dirname(plan.files.dir), plan.files.dir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  for (const d of ['disks', 'qemu', 'logs', 'keys']) mkdirSync(join(plan.files.dir, d), { recursive: true, mode: 0o700 });
}

/**
 * KVM crashed a guest before it was ready: remember that for this host,
 * say so once, and start the whole lab again under TCG on fresh overlays.
 */
async function restartUnderTcg(state: LabState, crash: { node: string; fault: VmFault }, reporter: Reporter): Promise<LabPlan> {
  const seen = Date.now();
  fallBackToTcg(state, crash.node, crash.fault, reporter, 'the lab');
  const plan = state.plan;
  await killAll(plan, state, reporter); // same nodes, pids and files as under KVM
  for (const ns of Object.values(state.nodes)) Object.assign(ns, { status: 'starting', pid: null, link_generation: {} });
  await Promise.all(plan.nodes.map((n) => createOverlay(n.image.path, n.image.format, n.files.overlay)));
  writeState(plan.files.state, state);
  reporter.verbose(`under TCG: overlays fresh ${Date.now() - seen} ms after the crash was seen`);
  return plan;
}

/**
 * Deploy a planned lab: overlays, keys, QEMU processes in start order,
 * readiness, profile patching, state.json. On any failure everything
 * started is stopped again and the profiles are restored.
 */
export async function deployLab(planned: PlannedLab, reporter: Reporter, opts: { signal?: AbortSignal; now?: Date; warm?: WarmStart; maxParallel?: number } = {}): Promise<LabState> {
  let { plan } = planned;
  const { signal, now = new Date(), warm } = opts;
  const t0 = Date.now();
  return withLabDir({ name: plan.name, dir: plan.files.dir }, async () => {
    await clearEarlierAttempt(plan, reporter);
    const busy = await busyPorts(plan);
    if (busy.length) {
      throw new LabError(
        `ports already in use: ${busy.map((b) => `${b.address}:${b.port} (${b.use})`).join(', ')}`,
        'stop what holds them, or move the port bases (link_port_base, console_port_base, ssh_port_base) in topology.json',
      );
    }
    const fromCheckpoints = !warm && plan.nodes.some((n) => n.checkpoint);
    if (fromCheckpoints) checkCheckpoints(plan, await qemuBinaryVersion(plan.qemuBinary));
    makePrivateDirs(plan);
    const state = initialState(plan, now);
    writeState(plan.files.state, state);

    // Aborted (Ctrl-C in the CLI, a cancelled job in the server): roll back at once; the
    // waits then end and the deploy rejects with code "cancelled" once the rollback is done.
    let interrupted: Promise<void> | undefined;
    const onAbort = () => {
      reporter.warn('interrupted: stopping what was started');
      interrupted = rollback(state.plan, state, reporter);
    };
    if (signal?.aborted) throw cancelled(plan);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const fromCp = plan.nodes.filter((n) => n.checkpoint).length;
      const from = warm ? `, warm from snapshot "${warm.archive.manifest.snapshot.name}"` : fromCp ? `, ${fromCp} warm from checkpoints` : '';
      reporter.info(`Deploying lab "${plan.name}": ${plan.nodes.length} node(s), ${plan.links.length} link(s), ${plan.accel.toUpperCase()} (${planned.accelReason})${from}`);
      if (warm) {
        await placeWarmFiles(plan, warm);
      } else {
        await generateKey(plan.files.labKey, `vmlab-${plan.name}`);
        await Promise.all(plan.nodes.map((n) => generateKey(n.files.hostKey, `${n.name}@vmlab-${plan.name}`)));
        await Promise.all(plan.nodes.map((n) => (n.checkpoint ? placeCheckpointDisk(n) : createOverlay(n.image.path, n.image.format, n.files.overlay))));
        await Promise.all(plan.nodes.map((n) => writeNodeSeed(plan, n, state.created)));
      }
      reporter.verbose(`overlays ${warm ? 'in place' : 'created'} in ${secs(Date.now() - t0)}`);
      writeSshConfig(plan);
      writeInventoryFiles(plan);
      const startedAt = new Map<string, number>();
      const loadvm = (n: NodePlan) => (warm ? ['-loadvm', warm.archive.manifest.snapshot.name] : n.checkpoint ? ['-loadvm', n.checkpoint.snapshot] : []);
      const boot = { extraArgs: loadvm, fromCheckpoints, maxParallel: opts.maxParallel ?? defaultMaxParallel(plan.accel), ...(signal ? { signal } : {}) };
      let outcome = await bootAll(plan, state, reporter, t0, startedAt, boot);
      if (outcome.kvmCrash && (warm || fromCheckpoints)) {
        // A VM state saved under KVM does not load under TCG: there is nothing to fall back to.
        throw new LabError(`${outcome.kvmCrash.node} crashed under KVM while starting from the snapshot (${outcome.kvmCrash.fault.detail ?? outcome.kvmCrash.fault.kind})`, `this host's KVM is not usable; deploy cold instead: vmlab deploy -S ${plan.specDir}`);
      }
      if (outcome.kvmCrash && !signal?.aborted) {
        plan = await restartUnderTcg(state, outcome.kvmCrash, reporter);
        outcome = await bootAll(plan, state, reporter, t0, startedAt, { ...boot, maxParallel: opts.maxParallel ?? defaultMaxParallel(plan.accel) });
      }
      if (signal?.aborted) throw cancelled(plan);
      if (outcome.failures.length) {
        throw new LabError(`${outcome.failures.length} node(s) did not come up:\n${outcome.failures.join('\n')}`, `logs are in ${join(plan.files.dir, 'logs')}`);
      }
      if (warm) {
        // The guests resumed at the time they were saved.
        const clocks = await Promise.allSettled(plan.nodes.map((n) => setClockWithRetry(state, n.name)));
        clocks.forEach((c, i) => c.status === 'rejected' && reporter.warn(`${plan.nodes[i]!.name}: clock not set (${(c.reason as Error).message})`));
        state.snapshots = [warm.archive.manifest.snapshot];
      }
      applyProfilePatches(plan);
      state.status = 'running';
      delete state.owner_pid;
      writeState(plan.files.state, state);
      return state;
    } catch (err) {
      if (interrupted) {
        await interrupted;
        throw cancelled(plan);
      }
      reporter.warn(`deploy failed; stopping what was started`);
      await rollback(state.plan, state, reporter);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  });
}
