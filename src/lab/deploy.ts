import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LabPlan, NodePlan } from '../plan/labPlan.js';
import { imagePathsOf, planLab, resolveLab } from '../plan/planLab.js';
import { loadSpec } from '../spec/loadSpec.js';
import { createOverlay } from '../qemu/qemuImg.js';
import { LabError } from './labError.js';
import { withLabLock } from './labLock.js';
import { initialState, readState, writeState, type LabState } from './labState.js';
import { busyPorts } from './portCheck.js';
import { findQemusUnder, isAlive, terminate } from './processes.js';
import { nodeLogTail, startQemu, stopQemu } from './qemuProcess.js';
import { readinessFailure, waitForSsh } from './readiness.js';
import type { Reporter } from './reporter.js';
import { applyProfilePatches, restoreProfiles } from './profiles.js';
import { generateKey, writeSshConfig } from './sshFiles.js';
import { probeHost } from './hostProbe.js';
import { argvForStart } from './relink.js';
import { writeNodeSeed } from './seeds.js';
import { waitForCloudInit } from './cloudInitReady.js';

export interface PlannedLab {
  plan: LabPlan;
  accelReason: string;
}

/** Load → resolve → probe → plan. Throws SpecError for bad input; starts nothing. */
export async function planDeploy(specDir: string, env: NodeJS.ProcessEnv = process.env): Promise<PlannedLab> {
  const spec = loadSpec(specDir);
  const resolved = resolveLab(spec, homedir());
  const facts = await probeHost(imagePathsOf(resolved), env);
  return { plan: planLab(spec, resolved, facts), accelReason: facts.accelReason };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Start every node, each once the nodes it connects to are listening. */
async function startAll(plan: LabPlan, state: LabState, reporter: Reporter): Promise<void> {
  const started = new Map<string, Promise<void>>();
  const startNode = (node: NodePlan): Promise<void> => {
    let p = started.get(node.name);
    if (!p) {
      p = (async () => {
        await Promise.all(node.after.map((d) => startNode(plan.nodes.find((n) => n.name === d)!)));
        if (state.status === 'failed') throw new LabError('deploy cancelled');
        const pid = await startQemu(node, argvForStart(plan, node, state), reporter.verbose, (p) => (state.nodes[node.name]!.pid = p));
        state.nodes[node.name]!.pid = pid;
        reporter.verbose(`${node.name}: QEMU pid ${pid} up`);
      })();
      started.set(node.name, p);
    }
    return p;
  };
  const results = await Promise.allSettled(plan.nodes.map(startNode));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Wait for SSH on every node; report each as it answers. */
async function waitAllReady(plan: LabPlan, state: LabState, reporter: Reporter, t0: number): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    plan.nodes.map(async (n) => {
      const ns = state.nodes[n.name]!;
      const r = await waitForSsh(n.sshPort, n.bootTimeoutS * 1000, () => ns.pid !== null && isAlive(ns.pid));
      if (r.banner && n.seed) {
        // A cloud image is ready when cloud-init has finished, not at the first banner.
        const ci = await waitForCloudInit(state, n, t0 + n.bootTimeoutS * 1000);
        if (!ci.ok) {
          ns.status = 'failed';
          ns.error = ci.error;
          failures.push(`${n.name}: ${ci.error}\n${nodeLogTail(n)}`);
          return;
        }
        if (ci.warning) reporter.warn(`${n.name}: ${ci.warning}`);
      }
      if (r.banner) {
        ns.status = 'running';
        ns.boot_ms = Date.now() - t0;
        reporter.info(`  ${n.name} ready after ${secs(ns.boot_ms)} (ssh -p ${n.sshPort} ${n.credentials.user}@${n.mgmtIp})`);
      } else {
        ns.status = 'failed';
        ns.error = readinessFailure(r, n.bootTimeoutS);
        failures.push(`${n.name}: ${ns.error}\n${nodeLogTail(n)}`);
      }
    }),
  );
  return failures;
}

/** Undo a deploy that failed: no process, no overlay, profiles as before; logs stay. */
async function rollback(plan: LabPlan, state: LabState, reporter: Reporter): Promise<void> {
  state.status = 'failed'; // also stops startAll from starting more
  await Promise.all(
    plan.nodes.map(async (n) => {
      const pid = state.nodes[n.name]!.pid;
      if (pid) await stopQemu(n, pid, { graceful: false, timeoutMs: 0 }, reporter.verbose);
      state.nodes[n.name]!.pid = null;
      if (state.nodes[n.name]!.status !== 'failed') state.nodes[n.name]!.status = 'stopped';
    }),
  );
  // A QEMU spawned but not yet recorded (interrupted mid-start) is found by its lab path.
  for (const pid of findQemusUnder(plan.files.dir)) await terminate(pid);
  restoreProfiles(plan);
  for (const d of ['disks', 'qemu', 'keys']) rmSync(join(plan.files.dir, d), { recursive: true, force: true });
  state.status = 'failed';
  writeState(plan.files.state, state);
}

/**
 * Deploy a planned lab: overlays, keys, QEMU processes in start order,
 * readiness, profile patching, state.json. On any failure everything
 * started is stopped again and the profiles are restored.
 */
export async function deployLab(planned: PlannedLab, reporter: Reporter, now = new Date()): Promise<LabState> {
  const { plan } = planned;
  const t0 = Date.now();
  return withLabLock(plan.files.lock, plan.name, async () => {
    if (existsSync(plan.files.state)) {
      const prev = readState(plan.files.state);
      const live = Object.values(prev.nodes).some((n) => n.pid && isAlive(n.pid));
      if (prev.status !== 'failed' || live) {
        throw new LabError(`lab "${plan.name}" is already deployed`, `destroy it first: vmlab destroy ${plan.name}`);
      }
      rmSync(join(plan.files.dir, 'logs'), { recursive: true, force: true }); // a failed earlier attempt
    }
    const busy = await busyPorts(plan);
    if (busy.length) {
      throw new LabError(
        `ports already in use on 127.0.0.1: ${busy.map((b) => `${b.port} (${b.use})`).join(', ')}`,
        'stop what holds them, or move the port bases (link_port_base, console_port_base, ssh_port_base) in topology.json',
      );
    }
    for (const d of ['disks', 'qemu', 'logs', 'keys']) mkdirSync(join(plan.files.dir, d), { recursive: true });
    const state = initialState(plan, now);
    writeState(plan.files.state, state);

    // Ctrl-C or a kill mid-deploy: undo like any other failure, then exit.
    let interrupted: Promise<never> | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      reporter.warn(`${signal}: stopping what was started`);
      interrupted = rollback(plan, state, reporter).finally(() => {
        rmSync(plan.files.lock, { force: true });
        process.exit(130);
      }) as Promise<never>;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      reporter.info(`Deploying lab "${plan.name}": ${plan.nodes.length} node(s), ${plan.links.length} link(s), ${plan.accel.toUpperCase()} (${planned.accelReason})`);
      await generateKey(plan.files.labKey, `vmlab-${plan.name}`);
      await Promise.all(plan.nodes.map((n) => generateKey(n.files.hostKey, `${n.name}@vmlab-${plan.name}`)));
      await Promise.all(plan.nodes.map((n) => createOverlay(n.image.path, n.image.format, n.files.overlay)));
      await Promise.all(plan.nodes.map((n) => writeNodeSeed(plan, n, state.created)));
      reporter.verbose(`overlays created in ${secs(Date.now() - t0)}`);
      writeSshConfig(plan);
      await startAll(plan, state, reporter);
      writeState(plan.files.state, state);
      reporter.info(`  all QEMU processes up after ${secs(Date.now() - t0)}; waiting for SSH`);
      const failures = await waitAllReady(plan, state, reporter, t0);
      if (failures.length) {
        throw new LabError(`${failures.length} node(s) did not come up:\n${failures.join('\n')}`, `logs are in ${join(plan.files.dir, 'logs')}`);
      }
      applyProfilePatches(plan);
      state.status = 'running';
      writeState(plan.files.state, state);
      return state;
    } catch (err) {
      if (interrupted) await interrupted; // exits 130 once the rollback is done
      reporter.warn(`deploy failed; stopping what was started`);
      await rollback(plan, state, reporter);
      throw err;
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  });
}
