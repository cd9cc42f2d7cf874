import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AccelFacts } from '../../host/accel.js';
import type { Reporter } from '../../host/reporter.js';
import type { LabPlan } from '../../plan/labPlan.js';
import { imagePathsOf, planLab, resolveLab } from '../../plan/planLab.js';
import { loadSpec } from '../../spec/loadSpec.js';
import { LabError } from '../labError.js';
import { probeHost, type ImageFactsResolver } from '../node/hostProbe.js';
import { fallBackToTcg } from '../node/kvmFallback.js';
import { writeSshConfig } from '../node/sshFiles.js';
import type { VmFault } from '../node/vmWatch.js';
import { writeInventoryFiles } from '../state/labOutputs.js';
import { deployInterrupted, scanLabQemus } from '../state/labScan.js';
import { initialState, readState, writeState, type LabState } from '../state/labState.js';
import { withLabDir } from '../state/withLab.js';
import { bootAll, secs, type BootOutcome } from './bootNodes.js';
import type { Deployment, StartSource } from './deployment.js';
import { busyPorts } from './portCheck.js';
import { applyProfilePatches } from './profiles.js';
import { killAll, rollback, undoProfiles } from './rollback.js';
import { chooseStartSource, type ArchiveInput } from './startSource.js';

export interface PlannedLab {
  plan: LabPlan;
  accelReason: string;
  accelFacts?: AccelFacts;
}

/**
 * Load → resolve → probe → plan. Throws SpecError for bad input; starts
 * nothing. Multi-host: `host` is this machine's entry; only its nodes' images are probed.
 */
export async function planDeploy(
  specDir: string,
  images: ImageFactsResolver,
  env: NodeJS.ProcessEnv,
  opts: { host?: string } = {},
): Promise<PlannedLab> {
  const spec = loadSpec(specDir);
  const resolved = resolveLab(spec, homedir());
  const mine = resolved.filter((n) => opts.host === undefined || n.host === opts.host);
  const facts = await probeHost(imagePathsOf(mine), images, env);
  return { plan: planLab(spec, resolved, facts, opts), accelReason: facts.accelReason, accelFacts: facts.accelFacts };
}

export interface DeployOptions {
  /** The environment SSH runs with: Settings.childEnv. */
  env: NodeJS.ProcessEnv;
  /** Aborted: everything started is stopped and the deploy rejects with code "cancelled". */
  signal?: AbortSignal;
  now?: Date;
  maxParallel?: number;
  /** Start warm from this exported snapshot (found by checkBeforeDeploy). */
  archive?: ArchiveInput;
}

/**
 * Deploy a planned lab: overlays, keys, QEMU processes in start order,
 * readiness, profile patching, state.json. On any failure everything
 * started is stopped again and the profiles are restored. A snapshot to
 * start from is unpacked and checked first, before the lab is touched.
 */
export async function deployLab(planned: PlannedLab, reporter: Reporter, opts: DeployOptions): Promise<LabState> {
  const source = await chooseStartSource(planned.plan, reporter, opts.archive);
  const t0 = Date.now();
  try {
    const { plan } = planned;
    const locked = () => deployLocked(planned, reporter, source, t0, opts);
    return await withLabDir({ name: plan.name, dir: plan.files.dir }, locked);
  } finally {
    source.close();
  }
}

/** Under the lab's lock: clear what an earlier deploy left, refuse what cannot start, record the state, start. */
async function deployLocked(
  planned: PlannedLab,
  reporter: Reporter,
  source: StartSource,
  t0: number,
  opts: DeployOptions,
): Promise<LabState> {
  const { plan } = planned;
  await clearEarlierAttempt(plan, reporter);
  await refuseBusyPorts(plan);
  await source.check(plan);
  makePrivateDirs(plan);
  const state = initialState(plan, opts.now ?? new Date());
  writeState(plan.files.state, state);
  const d: Deployment = {
    get plan() {
      return state.plan;
    },
    state,
    reporter,
    env: opts.env,
    source,
    t0,
    startedAt: new Map(),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.maxParallel ? { maxParallel: opts.maxParallel } : {}),
  };
  return startOrRollBack(d, planned.accelReason);
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
      'lab_state_lost',
      `lab "${plan.name}" has ${live.size} QEMU process(es) running but no state.json`,
      { hint: `stop them and clean up first: vmlab destroy ${plan.name}` },
    );
  }
  const prev = readState(plan.files.state);
  if (deployInterrupted(prev)) {
    const owner = prev.owner_pid ?? '?';
    const gone = `vmlab pid ${owner} is gone`;
    reporter.warn(`an earlier deploy of "${plan.name}" was interrupted (${gone}); cleaning up what it left`);
    await killAll(prev.plan, prev, reporter);
    undoProfiles(prev.plan, reporter);
  } else if (prev.status !== 'failed' || live.size > 0) {
    const hint = `destroy it first: vmlab destroy ${plan.name}`;
    throw new LabError('lab_exists', `lab "${plan.name}" is already deployed`, { hint });
  }
  for (const d of ['disks', 'qemu', 'keys', 'logs']) rmSync(join(plan.files.dir, d), { recursive: true, force: true });
}

async function refuseBusyPorts(plan: LabPlan): Promise<void> {
  const busy = await busyPorts(plan);
  if (!busy.length) return;
  throw new LabError(
    'ports_in_use',
    `ports already in use: ${busy.map((b) => `${b.address}:${b.port} (${b.use})`).join(', ')}`,
    {
      hint:
        'stop what holds them, ' +
        'or move the port bases (link_port_base, console_port_base, ssh_port_base) in topology.json',
    },
  );
}

/** Lab directories hold keys, passwords and QMP sockets: owner only. */
function makePrivateDirs(plan: LabPlan): void {
  for (const d of [dirname(dirname(plan.files.dir)), dirname(plan.files.dir), plan.files.dir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  for (const d of ['disks', 'qemu', 'logs', 'keys']) {
    mkdirSync(join(plan.files.dir, d), { recursive: true, mode: 0o700 });
  }
}

/**
 * Start the lab; on a failure stop what was started. Aborted (Ctrl-C in the
 * CLI, a cancelled job in the server): roll back at once; the waits then end
 * and the deploy rejects with code "cancelled" once the rollback is done.
 */
async function startOrRollBack(d: Deployment, accelReason: string): Promise<LabState> {
  const { state, reporter, signal } = d;
  let interrupted: Promise<void> | undefined;
  const onAbort = () => {
    reporter.warn('interrupted: stopping what was started');
    interrupted = rollback(state.plan, state, reporter);
  };
  if (signal?.aborted) throw cancelled(d.plan);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await startLab(d, accelReason);
  } catch (err) {
    if (interrupted) {
      await interrupted;
      throw cancelled(d.plan);
    }
    reporter.warn(`deploy failed; stopping what was started`);
    await rollback(state.plan, state, reporter);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Files in place, every node booted and ready, profiles patched: the lab runs. */
async function startLab(d: Deployment, accelReason: string): Promise<LabState> {
  const { plan, state, reporter, source } = d;
  const accel = `${plan.accel.toUpperCase()} (${accelReason})`;
  const sizes = `${plan.nodes.length} node(s), ${plan.links.length} link(s), ${accel}`;
  reporter.info(`Deploying lab "${plan.name}": ${sizes}${source.from}`);
  await source.place(d);
  reporter.verbose(`overlays ${source.placed} in ${secs(Date.now() - d.t0)}`);
  writeSshConfig(plan);
  writeInventoryFiles(plan);
  const outcome = await bootWithTcgFallback(d);
  if (d.signal?.aborted) throw cancelled(d.plan);
  if (outcome.failures.length) {
    throw new LabError(
      'nodes_not_ready',
      `${outcome.failures.length} node(s) did not come up:\n${outcome.failures.join('\n')}`,
      { hint: `logs are in ${join(d.plan.files.dir, 'logs')}` },
    );
  }
  await source.finish(d);
  applyProfilePatches(d.plan);
  state.status = 'running';
  delete state.owner_pid;
  writeState(d.plan.files.state, state);
  return state;
}

/** Boot every node; if KVM crashed a guest, boot the whole lab again under TCG where the start source allows. */
async function bootWithTcgFallback(d: Deployment): Promise<BootOutcome> {
  const outcome = await bootAll(d);
  const crash = outcome.kvmCrash;
  if (!crash) return outcome;
  if (!d.source.restartDisks) {
    // A VM state saved under KVM does not load under TCG: there is nothing to fall back to.
    throw new LabError(
      'kvm_crashed',
      `${crash.node} crashed under KVM while starting from the snapshot (${crash.fault.detail ?? crash.fault.kind})`,
      { hint: `this host's KVM is not usable; deploy cold instead: vmlab deploy -S ${d.plan.specDir}` },
    );
  }
  if (d.signal?.aborted) return outcome;
  await restartUnderTcg(d, crash, d.source.restartDisks);
  return bootAll(d);
}

/**
 * KVM crashed a guest before it was ready: remember that for this host,
 * say so once, and start the whole lab again under TCG on fresh overlays.
 */
async function restartUnderTcg(
  d: Deployment,
  crash: { node: string; fault: VmFault },
  freshDisks: (plan: LabPlan) => Promise<void>,
): Promise<void> {
  const { state, reporter } = d;
  const seen = Date.now();
  fallBackToTcg(state, crash, reporter, 'the lab', d.env);
  const plan = state.plan;
  await killAll(plan, state, reporter); // same nodes, pids and files as under KVM
  for (const ns of Object.values(state.nodes)) {
    Object.assign(ns, { status: 'starting', pid: null, link_generation: {} });
  }
  await freshDisks(plan);
  writeState(plan.files.state, state);
  reporter.verbose(`under TCG: overlays fresh ${Date.now() - seen} ms after the crash was seen`);
}

function cancelled(plan: LabPlan): LabError {
  return new LabError('cancelled', `deploy of lab "${plan.name}" interrupted: everything it started was stopped`, {
    hint: `deploy it again: vmlab deploy -S ${plan.specDir}`,
  });
}
