import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connects, listens, type LabPlan, type NodePlan } from '../../plan/labPlan.js';
import { QmpClient } from '../../qemu/qmp.js';
import { QEMU_IMG } from '../../qemu/qemuImg.js';
import { run, tailLines } from '../../qemu/run.js';
import { isAlive } from '../../host/processes.js';
import { accelFacts } from '../../host/accel.js';
import type { Reporter } from '../../host/reporter.js';
import { isValidName, NAME_RULE } from '../../spec/names.js';
import { LabError } from '../labError.js';
import { writeState, type LabState } from '../state/labState.js';
import { loadLab, type LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { nodeLogTail, startQemu } from '../node/qemuProcess.js';
import { readinessFailure, waitForNode } from '../node/readiness.js';
import { argvForStart, relinkNic } from '../node/relink.js';
import { sshInvocation } from '../node/sshCommand.js';
import { binaryVersion, devicesOf, machineOf, qmpVersion, snapshotMismatches, type CurrentNode, type SnapshotRecord } from '../state/snapshotFacts.js';

/*
 * Whole-lab snapshots. A snapshot is one consistent point of every node:
 * all VMs are paused (QMP stop), each saves its RAM, devices and disk into
 * its own qcow2 overlay (HMP savevm, in parallel), then all resume. What
 * makes it restorable (accelerator, machine, QEMU version, devices) and the
 * link map are recorded in state.json. Restore pauses all, loads each
 * (HMP loadvm; a stopped node starts paused with -loadvm), gives every TCP
 * link fresh sockets (QEMU's socket netdev never reconnects), resumes all
 * and sets every guest clock to now.
 */

const HMP_TIMEOUT_MS = 300_000;

/** One HMP command through QMP; HMP reports failure as text ("Error: ..."). */
export async function hmp(node: NodePlan, command: string, timeoutMs = HMP_TIMEOUT_MS): Promise<string> {
  const qmp = await QmpClient.connect(node.files.qmp);
  let timer: NodeJS.Timeout | undefined;
  try {
    const out = (await Promise.race([
      qmp.execute('human-monitor-command', { 'command-line': command }),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer to "${command}" within ${timeoutMs / 1000} s`)), timeoutMs))),
    ])) as string;
    const text = String(out ?? '').trim();
    if (/^error|\berror:/im.test(text)) throw new Error(text.replace(/\s+/g, ' '));
    return text;
  } finally {
    if (timer) clearTimeout(timer);
    qmp.close();
  }
}

export async function qmp(node: NodePlan, command: string, args?: Record<string, unknown>): Promise<unknown> {
  const c = await QmpClient.connect(node.files.qmp);
  try {
    return await c.execute(command, args);
  } finally {
    c.close();
  }
}

interface OverlaySnapshot {
  name: string;
  'vm-state-size': number;
}

/** The overlay's snapshots and size (-U: a running QEMU holds the image lock). */
export async function overlayInfo(overlay: string): Promise<{ snapshots: OverlaySnapshot[]; bytes: number }> {
  const argv = [QEMU_IMG, 'info', '-U', '--output=json', overlay];
  const r = await run(argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new LabError(`qemu-img info ${overlay} failed: ${tailLines(r.stderr, 3)}`, 'is the lab\'s disk still there?');
  const info = JSON.parse(r.stdout) as { snapshots?: OverlaySnapshot[]; 'actual-size'?: number };
  return { snapshots: info.snapshots ?? [], bytes: info['actual-size'] ?? 0 };
}

export async function qemuImgSnapshot(flag: '-c' | '-a' | '-d', name: string, overlay: string): Promise<void> {
  const argv = [QEMU_IMG, 'snapshot', flag, name, overlay];
  const r = await run(argv, { timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${tailLines(r.stderr, 3) || `exit code ${r.exitCode}`}`);
}

/** Lab-name rules; not digits only (QEMU finds snapshots by name or by numeric id). */
export function checkSnapshotName(name: string): void {
  if (!isValidName(name) || /^\d+$/.test(name)) throw new LabError(`"${name}" is not a valid snapshot name`, `use ${NAME_RULE}, and not digits only`, 'input', 'invalid_name');
}

/** The named snapshot, or not_found listing the ones there are. */
export function findSnapshot(state: LabState, name: string): SnapshotRecord {
  const rec = (state.snapshots ?? []).find((s) => s.name === name);
  if (rec) return rec;
  const have = (state.snapshots ?? []).map((s) => s.name);
  throw new LabError(
    `lab "${state.name}" has no snapshot "${name}"; ${have.length ? `it has: ${have.join(', ')}` : 'it has none'}`,
    have.length ? `vmlab snapshot --list ${state.name}` : `take one: vmlab snapshot --name <name> ${state.name}`,
    'not_found',
    'snapshot_not_found',
  );
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Run `fn` on every node at once; the names that failed with why. */
async function onEach(nodes: NodePlan[], fn: (n: NodePlan) => Promise<unknown>): Promise<Array<{ node: string; error: string }>> {
  const r = await Promise.allSettled(nodes.map(fn));
  return r.flatMap((x, i) => (x.status === 'rejected' ? [{ node: nodes[i]!.name, error: errText(x.reason) }] : []));
}

/**
 * Recorded before any VM is paused: if this vmlab is killed while the lab is
 * paused, the next snapshot command (or `vmlab resume`) finds a dead pid
 * here and resumes the VMs, and `vmlab status` says so.
 */
export function markPaused(state: LabState): void {
  state.paused_by = process.pid;
  writeState(state.plan.files.state, state);
}

/** Resume every paused VM; a failure is reported, never thrown (a lab is never left paused silently). */
export async function resumeAll(state: LabState, nodes: NodePlan[], reporter: Reporter): Promise<void> {
  for (const f of await onEach(nodes, (n) => qmp(n, 'cont'))) reporter.warn(`${f.node}: could not resume its VM (${f.error}); resume it with: vmlab resume ${state.name}, or restart it`);
  delete state.paused_by;
  writeState(state.plan.files.state, state);
}

/**
 * Resume the VMs a killed vmlab left paused (its pid in `paused_by` is
 * gone); with `always`, every paused VM of the lab (`vmlab resume`).
 * Returns the nodes resumed.
 */
export async function resumeAbandoned(state: LabState, reporter: Reporter, always = false): Promise<string[]> {
  const owner = state.paused_by;
  if (!always && (owner === undefined || owner === process.pid || isAlive(owner))) return [];
  const resumed: string[] = [];
  for (const n of state.plan.nodes.filter((x) => nodeIsUp(state, x.name))) {
    const s = (await qmp(n, 'query-status').catch(() => undefined)) as { status?: string } | undefined;
    if (s?.status !== 'paused') continue;
    await qmp(n, 'cont');
    resumed.push(n.name);
  }
  delete state.paused_by;
  writeState(state.plan.files.state, state);
  if (resumed.length && owner !== undefined && owner !== process.pid) reporter.warn(`vmlab (pid ${owner}) was killed while lab "${state.name}" was paused; resumed ${resumed.join(', ')}`);
  return resumed;
}

/** `vmlab resume`: every paused VM of the lab runs again. */
export async function resumeLab(ref: LabRef, reporter: Reporter): Promise<string[]> {
  return withLab(ref, {}, async (state) => resumeAbandoned(state, reporter, true));
}

export interface SnapshotOptions {
  name: string;
  force?: boolean;
  /** Disks only (qemu-img on stopped nodes), no RAM state. */
  diskOnly?: boolean;
}

const linkMap = (state: LabState): SnapshotRecord['links'] =>
  state.links.map((l) => ({ a: l.a, z: l.z, transport: l.transport, port: l.port, ...(l.z_port !== undefined ? { z_port: l.z_port } : {}) }));

/** The accelerator a stopped node would start under now (KVM may have been found broken since). */
async function startAccel(plan: LabPlan): Promise<string> {
  if (plan.accel !== 'kvm') return plan.accel;
  return (await accelFacts({ qemuBinary: plan.qemuBinary })).accel;
}

const binaryVersions = new Map<string, Promise<string>>();
export function qemuBinaryVersion(binary: string): Promise<string> {
  let v = binaryVersions.get(binary);
  if (!v) {
    v = run([binary, '--version'], { timeoutMs: 30_000 }).then((r) => binaryVersion(r.stdout));
    binaryVersions.set(binary, v);
  }
  return v;
}

/**
 * Take a snapshot of the whole lab. Full (default): every node must run;
 * all are paused, saved in parallel and resumed. --disk-only: every node
 * must be stopped; each overlay gets an internal disk snapshot. A failure
 * half-way deletes the partial snapshots and resumes every VM.
 */
export async function takeSnapshot(ref: LabRef, opts: SnapshotOptions, reporter: Reporter): Promise<SnapshotRecord> {
  checkSnapshotName(opts.name);
  return withLab(ref, { refuseInterrupted: true }, async (state) => {
    await resumeAbandoned(state, reporter);
    const plan = state.plan;
    const old = (state.snapshots ?? []).find((s) => s.name === opts.name);
    if (old && !opts.force) {
      throw new LabError(`lab "${state.name}" already has a snapshot "${opts.name}" (taken ${old.created})`, `pick another name, or replace it: vmlab snapshot --force --name ${opts.name} ${state.name}`, 'conflict', 'snapshot_exists');
    }
    const up = plan.nodes.filter((n) => nodeIsUp(state, n.name));
    const down = plan.nodes.filter((n) => !up.includes(n));
    const t0 = Date.now();
    let rec: SnapshotRecord;
    if (opts.diskOnly) {
      if (up.length) {
        throw new LabError(`--disk-only needs every node stopped; running: ${up.map((n) => n.name).join(', ')}`, `stop them first (vmlab stop <node>), or take a full snapshot of the running lab: vmlab snapshot --name ${opts.name} ${state.name}`, 'conflict', 'node_running');
      }
      for (const n of plan.nodes) if (!existsSync(n.files.overlay)) throw new LabError(`the disk of ${n.name} is gone (${n.files.overlay})`, 'redeploy the lab');
      const version = await qemuBinaryVersion(plan.qemuBinary);
      const accel = await startAccel(plan);
      // --force: the old one goes first (qemu-img refuses a name that exists).
      if (old) await onEach(plan.nodes, async (n) => ((await overlayInfo(n.files.overlay)).snapshots.some((s) => s.name === opts.name) ? qemuImgSnapshot('-d', opts.name, n.files.overlay) : undefined));
      const made: NodePlan[] = [];
      const failed = await onEach(plan.nodes, async (n) => {
        await qemuImgSnapshot('-c', opts.name, n.files.overlay);
        made.push(n);
      });
      if (failed.length) {
        await onEach(made, (n) => qemuImgSnapshot('-d', opts.name, n.files.overlay));
        throw new LabError(`disk snapshot "${opts.name}" failed: ${failed.map((f) => `${f.node}: ${f.error}`).join('; ')}`, 'the partial snapshots were deleted; nothing changed', 'failure', 'snapshot_failed');
      }
      rec = await record(state, opts.name, 'disk-only', Date.now() - t0, (n) => ({ accel, qemu_version: version, vm: false, node: n }));
    } else {
      if (down.length) {
        throw new LabError(
          `a snapshot with RAM needs every node running; stopped: ${down.map((n) => n.name).join(', ')}`,
          `start them (vmlab start ${down[0]!.name}), or stop every node and take a disk snapshot: vmlab snapshot --disk-only --name ${opts.name} ${state.name}`,
          'conflict',
          'node_not_running',
        );
      }
      const versions = new Map<string, string>();
      await Promise.all(up.map(async (n) => versions.set(n.name, qmpVersion(await qmp(n, 'query-version')))));
      const paused: NodePlan[] = [];
      let pausedMs = 0;
      markPaused(state);
      try {
        const pauseFailed = await onEach(up, async (n) => {
          await qmp(n, 'stop');
          paused.push(n);
        });
        if (pauseFailed.length) throw new LabError(`could not pause ${pauseFailed.map((f) => `${f.node} (${f.error})`).join(', ')}`, 'nothing was saved; try again', 'failure', 'snapshot_failed');
        const pausedAt = Date.now();
        reporter.info(`Lab "${state.name}" paused; saving ${up.length} node(s) as "${opts.name}"`);
        const saved: NodePlan[] = [];
        const failed = await onEach(up, async (n) => {
          const t = Date.now();
          await hmp(n, `savevm ${opts.name}`);
          saved.push(n);
          reporter.verbose(`${n.name}: saved in ${Date.now() - t} ms`);
        });
        if (failed.length) {
          // Nothing half-made stays: the nodes that did save drop theirs.
          for (const f of await onEach(saved, (n) => hmp(n, `delvm ${opts.name}`))) reporter.warn(`${f.node}: could not delete its partial snapshot (${f.error})`);
          if (old) {
            // savevm replaced the old one on the nodes that saved: its record is no longer true.
            state.snapshots = (state.snapshots ?? []).filter((s) => s.name !== opts.name);
            writeState(plan.files.state, state);
          }
          throw new LabError(
            `snapshot "${opts.name}" of lab "${state.name}" failed on ${failed.map((f) => `${f.node}: ${f.error}`).join('; ')}`,
            'every VM was resumed and the partial snapshots deleted; internal snapshots need every writable disk in qcow2',
            'failure',
            'snapshot_failed',
          );
        }
        pausedMs = Date.now() - pausedAt;
      } finally {
        await resumeAll(state, paused, reporter);
      }
      rec = await record(state, opts.name, 'full', pausedMs, (n) => ({ accel: state.nodes[n.name]?.accel ?? plan.accel, qemu_version: versions.get(n.name) ?? 'unknown', vm: true, node: n }));
    }
    state.snapshots = [...(state.snapshots ?? []).filter((s) => s.name !== opts.name), rec];
    writeState(plan.files.state, state);
    return rec;
  });
}

/** The record of a snapshot just made: facts per node, sizes from the overlays. */
async function record(
  state: LabState,
  name: string,
  kind: SnapshotRecord['kind'],
  tookMs: number,
  facts: (n: NodePlan) => { accel: string; qemu_version: string; vm: boolean; node: NodePlan },
): Promise<SnapshotRecord> {
  const nodes: SnapshotRecord['nodes'] = {};
  for (const n of state.plan.nodes) {
    const f = facts(n);
    const info = await overlayInfo(n.files.overlay).catch(() => ({ snapshots: [] as OverlaySnapshot[], bytes: 0 }));
    nodes[n.name] = {
      ...devicesOf(n),
      accel: f.accel,
      qemu_version: f.qemu_version,
      vm_state_bytes: info.snapshots.find((s) => s.name === name)?.['vm-state-size'] ?? 0,
      overlay_bytes: info.bytes,
    };
  }
  const first = Object.values(nodes)[0];
  return {
    name,
    created: now(),
    kind,
    accel: first?.accel ?? state.plan.accel,
    machine: first?.machine ?? machineOf(state.plan.nodes[0]?.argv ?? []),
    qemu_version: first?.qemu_version ?? 'unknown',
    nodes,
    links: linkMap(state),
    took_ms: tookMs,
  };
}

export function listSnapshots(ref: LabRef): SnapshotRecord[] {
  return loadLab(ref).snapshots ?? [];
}

/** Delete a snapshot from every node: HMP delvm on running ones, qemu-img on stopped ones. */
export async function deleteSnapshot(ref: LabRef, name: string, reporter: Reporter): Promise<SnapshotRecord> {
  checkSnapshotName(name);
  return withLab(ref, { refuseInterrupted: true }, async (state) => {
    await resumeAbandoned(state, reporter);
    const rec = findSnapshot(state, name);
    const failed = await onEach(state.plan.nodes, async (n) => {
      if (nodeIsUp(state, n.name)) return hmp(n, `delvm ${name}`);
      if (!existsSync(n.files.overlay)) return;
      if ((await overlayInfo(n.files.overlay)).snapshots.some((s) => s.name === name)) await qemuImgSnapshot('-d', name, n.files.overlay);
    });
    if (failed.length) {
      throw new LabError(`deleting snapshot "${name}" failed on ${failed.map((f) => `${f.node}: ${f.error}`).join('; ')}`, `try again: vmlab snapshot --delete ${name} ${state.name}`, 'failure', 'snapshot_delete_failed');
    }
    state.snapshots = (state.snapshots ?? []).filter((s) => s.name !== name);
    writeState(state.plan.files.state, state);
    reporter.verbose(`snapshot "${name}" deleted from ${state.plan.nodes.length} node(s)`);
    return rec;
  });
}

export interface RestoreResult {
  name: string;
  kind: SnapshotRecord['kind'];
  /** Loaded in place (they were running). */
  loaded: string[];
  /** Started from the snapshot with -loadvm (they were stopped). */
  started: string[];
  /** Guest clocks that could not be set (with why). */
  clockWarnings: string[];
  ms: number;
}

/**
 * Set a guest's clock to the host's: the command connects, says "ready",
 * and only then is sent the time, so SSH's own set-up does not skew it.
 */
export function setGuestClock(state: LabState, node: string, timeoutMs = 30_000): Promise<void> {
  const script = 'echo ready; read t; if [ "$(id -u)" = 0 ]; then date -s "@$t"; else sudo -n date -s "@$t"; fi >/dev/null';
  const { argv, env } = sshInvocation(state, node, ['sh', '-c', script]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes('ready')) {
        sent = true;
        child.stdin.end(`${Math.round(Date.now() / 1000)}\n`);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && sent) resolve();
      else reject(new Error(`date over SSH failed (exit ${code}): ${tailLines(err, 2) || 'no output'}`));
    });
  });
}

export async function setClockWithRetry(state: LabState, node: string): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await setGuestClock(state, node);
    } catch (e) {
      last = e;
      if (i < 2) await new Promise((r) => setTimeout(r, 1000)); // an SSH server that is restarting answers again in a moment
    }
  }
  throw last;
}

/** Every TCP link gets a fresh pair of sockets: listening ends first, then connecting ends. */
async function relinkTcp(state: LabState, reporter: Reporter): Promise<void> {
  for (const [role, is] of [['listen', listens], ['connect', connects]] as const) {
    for (const node of state.plan.nodes) {
      for (const nic of node.nics) {
        if (!is(nic.backend) || !nic.peer) continue;
        reporter.verbose(`re-linking ${node.name} NIC ${nic.index} (${role}) to ${nic.peer}`);
        await relinkNic({ node, nic: nic.index, backend: nic.backend }, state);
      }
    }
  }
}

/**
 * Every node back to the snapshot. Full: running nodes are paused and
 * loaded in place, stopped ones start paused from it (-loadvm); every TCP
 * link gets fresh sockets; all resume; guest clocks are set to now.
 * Disk-only: every node must be stopped; each overlay goes back.
 * A snapshot that does not fit the lab as it is (accelerator, machine,
 * QEMU, memory, devices) is refused before anything stops.
 */
export async function restoreSnapshot(ref: LabRef, name: string, reporter: Reporter): Promise<RestoreResult> {
  checkSnapshotName(name);
  return withLab(ref, { refuseInterrupted: true }, async (state) => {
    const t0 = Date.now();
    await resumeAbandoned(state, reporter);
    const plan = state.plan;
    const rec = findSnapshot(state, name);
    const up = plan.nodes.filter((n) => nodeIsUp(state, n.name));
    const down = plan.nodes.filter((n) => !up.includes(n));
    for (const n of plan.nodes) if (!existsSync(n.files.overlay)) throw new LabError(`the disk of ${n.name} is gone (${n.files.overlay})`, 'redeploy the lab');

    // Every check before anything stops.
    const accelNow = down.length ? await startAccel(plan) : plan.accel;
    const current: CurrentNode[] = await Promise.all(
      plan.nodes.map(async (n) => ({
        plan: n,
        accel: up.includes(n) ? (state.nodes[n.name]?.accel ?? plan.accel) : accelNow,
        qemu_version: up.includes(n) ? qmpVersion(await qmp(n, 'query-version')) : await qemuBinaryVersion(plan.qemuBinary),
      })),
    );
    // A disk-only snapshot holds no VM state: only the nodes and their devices must match.
    const diffs = snapshotMismatches(
      rec,
      rec.kind === 'disk-only' ? current.map((c) => ({ ...c, accel: rec.nodes[c.plan.name]?.accel ?? c.accel, qemu_version: rec.nodes[c.plan.name]?.qemu_version ?? c.qemu_version })) : current,
    );
    if (diffs.length) {
      throw new LabError(
        `snapshot "${name}" does not fit lab "${state.name}" as it is now (nothing was stopped): ${diffs.join('; ')}`,
        'restore it on the same host and QEMU, under the same accelerator and devices it was taken with, or take a new snapshot',
        'conflict',
        'snapshot_mismatch',
      );
    }
    const missing: string[] = [];
    await Promise.all(
      plan.nodes.map(async (n) => {
        const s = (await overlayInfo(n.files.overlay)).snapshots.find((x) => x.name === name);
        if (!s || (rec.kind === 'full' && !s['vm-state-size'])) missing.push(n.name);
      }),
    );
    if (missing.length) {
      throw new LabError(`snapshot "${name}" is recorded but missing from the disk of ${missing.sort().join(', ')}`, `delete the record: vmlab snapshot --delete ${name} ${state.name}`, 'failure', 'snapshot_missing');
    }

    if (rec.kind === 'disk-only') {
      if (up.length) {
        throw new LabError(`"${name}" is a disk-only snapshot: every node must be stopped to restore it; running: ${up.map((n) => n.name).join(', ')}`, 'stop them first: vmlab stop <node>', 'conflict', 'node_running');
      }
      const failed = await onEach(plan.nodes, (n) => qemuImgSnapshot('-a', name, n.files.overlay));
      if (failed.length) throw new LabError(`restoring disk snapshot "${name}" failed on ${failed.map((f) => `${f.node}: ${f.error}`).join('; ')}`, 'the other disks were restored; try again');
      return { name, kind: rec.kind, loaded: [], started: [], clockWarnings: [], ms: Date.now() - t0 };
    }

    const paused: NodePlan[] = [];
    const startedAt = new Map<string, number>();
    markPaused(state);
    try {
      const pauseFailed = await onEach(up, async (n) => {
        await qmp(n, 'stop');
        paused.push(n);
      });
      if (pauseFailed.length) throw new LabError(`could not pause ${pauseFailed.map((f) => `${f.node} (${f.error})`).join(', ')}`, 'nothing was restored; try again');
      reporter.info(`Lab "${state.name}" paused; loading "${name}" on ${up.length} running node(s)${down.length ? `, starting ${down.length} from it` : ''}`);
      const loadFailed = await onEach(up, (n) => hmp(n, `loadvm ${name}`));
      if (loadFailed.length) {
        throw new LabError(`loading snapshot "${name}" failed on ${loadFailed.map((f) => `${f.node}: ${f.error}`).join('; ')}`, 'the lab was resumed; those nodes may be in an undefined state: restart them (vmlab stop/start) or restore again');
      }
      // Stopped nodes start paused from the snapshot, in start order (listeners first).
      const order = plan.startOrder.map((s) => plan.nodes.find((n) => n.name === s)!).filter((n) => down.includes(n));
      for (const n of order) {
        const ns = state.nodes[n.name]!;
        ns.link_generation = {};
        ns.status = 'starting';
        startedAt.set(n.name, Date.now());
        try {
          ns.pid = await startQemu(n, [...argvForStart(plan, n, state), '-S', '-loadvm', name], reporter.verbose);
        } catch (err) {
          Object.assign(ns, { status: 'failed', pid: null, error: `did not start from snapshot "${name}": ${errText(err).split('\n')[0]}` });
          throw err;
        }
        ns.accel = plan.accel;
        paused.push(n);
      }
      writeState(plan.files.state, state);
      await relinkTcp(state, reporter);
    } finally {
      await resumeAll(state, paused, reporter);
    }

    // Every node answers SSH again (started ones booted from the snapshot).
    const waits = await Promise.all(plan.nodes.map(async (n) => ({ n, r: await waitForNode(n, state.nodes[n.name]!.pid!, startedAt.get(n.name) ?? Date.now(), n.bootTimeoutS * 1000) })));
    const failures: string[] = [];
    for (const { n, r } of waits) {
      const ns = state.nodes[n.name]!;
      if (r.banner) {
        ns.status = 'running';
        delete ns.error;
      } else {
        const why = readinessFailure(r, n);
        ns.status = 'failed';
        ns.error = why.message;
        failures.push(`${why.message}\n${nodeLogTail(n)}`);
      }
    }
    writeState(plan.files.state, state);
    if (failures.length) throw new LabError(`after restoring "${name}", ${failures.length} node(s) did not answer SSH:\n${failures.join('\n')}`, 'restore again, or restart them: vmlab stop/start <node>');

    // The guests resumed at the snapshot's time: set their clocks to now.
    const clockWarnings = (await onEach(plan.nodes, (n) => setClockWithRetry(state, n.name))).map((f) => `${f.node}: clock not set (${f.error})`);
    for (const w of clockWarnings) reporter.warn(w);
    return { name, kind: rec.kind, loaded: up.map((n) => n.name), started: down.map((n) => n.name), clockWarnings, ms: Date.now() - t0 };
  });
}
