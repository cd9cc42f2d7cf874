import { connects, listens, type NodePlan } from '../../plan/labPlan.js';
import { hmpCommand } from '../../qemu/qmp.js';
import { applySnapshot, overlayInfo } from '../../qemu/qemuImg.js';
import type { Reporter } from '../../host/reporter.js';
import { LabError } from '../labError.js';
import { writeState, type LabState } from '../state/labState.js';
import type { LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import { snapshotMismatches, type SnapshotRecord } from '../state/snapshotFacts.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { nodeLogTail, startQemu } from '../node/qemuProcess.js';
import { readinessFailure, waitForNode } from '../node/readiness.js';
import { argvForStart, relinkNic } from '../node/relink.js';
import { errText, failureList, onEach } from './eachNode.js';
import { setClockWithRetry } from './guestClock.js';
import { currentNodes } from './nodeFacts.js';
import { resumeAbandoned, withPaused } from './pause.js';
import { checkDisks } from './snapshot.js';
import { checkSnapshotName, findSnapshot } from './snapshotRecord.js';

/*
 * A lab back to one of its snapshots. Full: running nodes are paused and
 * loaded in place (HMP loadvm), stopped ones start paused from it (-loadvm);
 * every TCP link gets fresh sockets (QEMU's socket netdev never reconnects);
 * all resume and every guest clock is set to now.
 */

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
 * Every node back to the snapshot. Full: as above. Disk-only: every node
 * must be stopped; each overlay goes back. A snapshot that does not fit the
 * lab as it is (accelerator, machine, QEMU, memory, devices) is refused
 * before anything stops.
 */
export async function restoreSnapshot(
  ref: LabRef,
  name: string,
  reporter: Reporter,
  env: NodeJS.ProcessEnv,
): Promise<RestoreResult> {
  checkSnapshotName(name);
  return withLab(ref, { refuseInterrupted: true }, async (state) => {
    const t0 = Date.now();
    await resumeAbandoned(state, reporter);
    const rec = findSnapshot(state, name);
    const up = state.plan.nodes.filter((n) => nodeIsUp(state, n.name));
    const down = state.plan.nodes.filter((n) => !up.includes(n));
    checkDisks(state);
    await checkFits(state, rec, up, env);
    if (rec.kind === 'disk-only') {
      await restoreDisks(state, name, up);
      return { name, kind: rec.kind, loaded: [], started: [], clockWarnings: [], ms: Date.now() - t0 };
    }
    const startedAt = await loadAll(state, name, up, down, reporter);
    await untilAnswering(state, name, startedAt);
    // The guests resumed at the snapshot's time: set their clocks to now.
    const clocks = await onEach(state.plan.nodes, (n) => setClockWithRetry(state, n.name, env));
    const clockWarnings = clocks.map((f) => `${f.node}: clock not set (${f.error})`);
    for (const w of clockWarnings) reporter.warn(w);
    const [loaded, started] = [up.map((n) => n.name), down.map((n) => n.name)];
    return { name, kind: rec.kind, loaded, started, clockWarnings, ms: Date.now() - t0 };
  });
}

/** Every check before anything stops: the lab as it is now fits the snapshot, and every disk holds it. */
async function checkFits(state: LabState, rec: SnapshotRecord, up: NodePlan[], env: NodeJS.ProcessEnv): Promise<void> {
  const current = await currentNodes(state, up, env);
  // A disk-only snapshot holds no VM state: only the nodes and their devices must match.
  const asSaved = current.map((c) => {
    const saved = rec.nodes[c.plan.name];
    return { ...c, accel: saved?.accel ?? c.accel, qemu_version: saved?.qemu_version ?? c.qemu_version };
  });
  const diffs = snapshotMismatches(rec, rec.kind === 'disk-only' ? asSaved : current);
  if (diffs.length) {
    throw new LabError(
      'snapshot_mismatch',
      `snapshot "${rec.name}" does not fit lab "${state.name}" as it is now (nothing was stopped): ${diffs.join('; ')}`,
      {
        hint:
          'restore it on the same host and QEMU, under the same accelerator and devices it was taken with, ' +
          'or take a new snapshot',
      },
    );
  }
  const missing: string[] = [];
  await Promise.all(
    state.plan.nodes.map(async (n) => {
      const s = (await overlayInfo(n.files.overlay)).snapshots.find((x) => x.name === rec.name);
      if (!s || (rec.kind === 'full' && !s['vm-state-size'])) missing.push(n.name);
    }),
  );
  if (missing.length) {
    throw new LabError(
      'snapshot_missing',
      `snapshot "${rec.name}" is recorded but missing from the disk of ${missing.sort().join(', ')}`,
      { hint: `delete the record: vmlab snapshot --delete ${rec.name} ${state.name}` },
    );
  }
}

/** Disk-only: every node stopped, each overlay back to the snapshot. */
async function restoreDisks(state: LabState, name: string, up: NodePlan[]): Promise<void> {
  if (up.length) {
    throw new LabError(
      'node_running',
      `"${name}" is a disk-only snapshot: every node must be stopped to restore it; ` +
        `running: ${up.map((n) => n.name).join(', ')}`,
      { hint: 'stop them first: vmlab stop <node>' },
    );
  }
  const failed = await onEach(state.plan.nodes, (n) => applySnapshot(n.files.overlay, name));
  if (failed.length) {
    const hint = 'the other disks were restored; try again';
    const why = `restoring disk snapshot "${name}" failed on ${failureList(failed)}`;
    throw new LabError('restore_failed', why, { hint });
  }
}

/**
 * Full: the running nodes paused and loaded in place, the stopped ones
 * started paused from the snapshot (in start order, listeners first), every
 * TCP link re-made, then all resumed. When each started node was started.
 */
async function loadAll(
  state: LabState,
  name: string,
  up: NodePlan[],
  down: NodePlan[],
  reporter: Reporter,
): Promise<Map<string, number>> {
  const plan = state.plan;
  const startedAt = new Map<string, number>();
  const onFail = { hint: 'nothing was restored; try again', code: 'restore_failed' as const };
  await withPaused(state, up, reporter, onFail, async (paused) => {
    const starting = down.length ? `, starting ${down.length} from it` : '';
    reporter.info(`Lab "${state.name}" paused; loading "${name}" on ${up.length} running node(s)${starting}`);
    const loadFailed = await onEach(up, (n) => hmpCommand(n.files.qmp, `loadvm ${name}`));
    if (loadFailed.length) {
      throw new LabError('restore_failed', `loading snapshot "${name}" failed on ${failureList(loadFailed)}`, {
        hint:
          'the lab was resumed; those nodes may be in an undefined state: ' +
          'restart them (vmlab stop/start) or restore again',
      });
    }
    const order = plan.startOrder.map((s) => plan.nodes.find((n) => n.name === s)!).filter((n) => down.includes(n));
    for (const n of order) {
      startedAt.set(n.name, Date.now());
      await startFrom(state, n, name, reporter);
      paused.add(n);
    }
    writeState(plan.files.state, state);
    await relinkTcp(state, reporter);
  });
  return startedAt;
}

/** A stopped node started paused (-S) from the snapshot; its state says so, or why it did not start. */
async function startFrom(state: LabState, n: NodePlan, name: string, reporter: Reporter): Promise<void> {
  const ns = state.nodes[n.name]!;
  ns.link_generation = {};
  ns.status = 'starting';
  try {
    ns.pid = await startQemu(n, [...argvForStart(state.plan, n, state), '-S', '-loadvm', name], reporter.verbose);
  } catch (err) {
    const error = `did not start from snapshot "${name}": ${errText(err).split('\n')[0]}`;
    Object.assign(ns, { status: 'failed', pid: null, error });
    throw err;
  }
  ns.accel = state.plan.accel;
}

/** Every TCP link gets a fresh pair of sockets: listening ends first, then connecting ends. */
async function relinkTcp(state: LabState, reporter: Reporter): Promise<void> {
  for (const [role, is] of [
    ['listen', listens],
    ['connect', connects],
  ] as const) {
    for (const node of state.plan.nodes) {
      for (const nic of node.nics) {
        if (!is(nic.backend) || !nic.peer) continue;
        reporter.verbose(`re-linking ${node.name} NIC ${nic.index} (${role}) to ${nic.peer}`);
        await relinkNic({ node, nic: nic.index, backend: nic.backend }, state);
      }
    }
  }
}

/** Every node answers SSH again (started ones booted from the snapshot); the state records each outcome. */
async function untilAnswering(state: LabState, name: string, startedAt: Map<string, number>): Promise<void> {
  const plan = state.plan;
  const waits = await Promise.all(
    plan.nodes.map(async (n) => {
      const since = startedAt.get(n.name) ?? Date.now();
      return { n, r: await waitForNode(n, state.nodes[n.name]!.pid!, since, n.bootTimeoutS * 1000) };
    }),
  );
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
  if (failures.length) {
    throw new LabError(
      'restore_not_ready',
      `after restoring "${name}", ${failures.length} node(s) did not answer SSH:\n${failures.join('\n')}`,
      { hint: 'restore again, or restart them: vmlab stop/start <node>' },
    );
  }
}
