import { existsSync } from 'node:fs';
import type { NodePlan } from '../../plan/labPlan.js';
import { hmpCommand } from '../../qemu/qmp.js';
import { createSnapshot, deleteSnapshot as deleteDiskSnapshot, overlayInfo } from '../../qemu/qemuImg.js';
import type { Reporter } from '../../host/reporter.js';
import { LabError } from '../labError.js';
import { writeState, type LabState } from '../state/labState.js';
import { loadLab, type LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import type { SnapshotRecord } from '../state/snapshotFacts.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { qemuBinaryVersion } from '../node/qemuVersion.js';
import { failureList, onEach } from './eachNode.js';
import { runningVersion, startAccel } from './nodeFacts.js';
import { resumeAbandoned, withPaused } from './pause.js';
import { checkSnapshotName, findSnapshot, snapshotRecord } from './snapshotRecord.js';

/*
 * Whole-lab snapshots. A snapshot is one consistent point of every node:
 * all VMs are paused (QMP stop), each saves its RAM, devices and disk into
 * its own qcow2 overlay (HMP savevm, in parallel), then all resume. What
 * makes it restorable (accelerator, machine, QEMU version, devices) and the
 * link map are recorded in state.json. Restore (restoreSnapshot.ts) pauses
 * all, loads each, re-links and resumes them.
 */

export interface SnapshotOptions {
  name: string;
  force?: boolean;
  /** Disks only (qemu-img on stopped nodes), no RAM state. */
  diskOnly?: boolean;
}

/** Every node's disk is there, or the lab must be deployed again. */
export function checkDisks(state: LabState): void {
  for (const n of state.plan.nodes) {
    if (existsSync(n.files.overlay)) continue;
    const why = `the disk of ${n.name} is gone (${n.files.overlay})`;
    throw new LabError('disk_missing', why, { hint: 'redeploy the lab' });
  }
}

/** One snapshot being taken: of what, as asked, with which nodes running; `replace`: --force over an old one. */
interface Take {
  state: LabState;
  opts: SnapshotOptions;
  up: NodePlan[];
  replace: boolean;
  reporter: Reporter;
  /** The environment the accelerator is judged in (VMLAB_ACCEL, the cache under XDG_CACHE_HOME). */
  env: NodeJS.ProcessEnv;
}

/**
 * Take a snapshot of the whole lab. Full (default): every node must run;
 * all are paused, saved in parallel and resumed. --disk-only: every node
 * must be stopped; each overlay gets an internal disk snapshot. A failure
 * half-way deletes the partial snapshots and resumes every VM.
 */
export async function takeSnapshot(
  ref: LabRef,
  opts: SnapshotOptions,
  reporter: Reporter,
  env: NodeJS.ProcessEnv,
): Promise<SnapshotRecord> {
  checkSnapshotName(opts.name);
  return withLab(ref, { refuseInterrupted: true }, async (state) => {
    await resumeAbandoned(state, reporter);
    const old = (state.snapshots ?? []).find((s) => s.name === opts.name);
    if (old && !opts.force) {
      const hint = `pick another name, or replace it: vmlab snapshot --force --name ${opts.name} ${state.name}`;
      const why = `lab "${state.name}" already has a snapshot "${opts.name}" (taken ${old.created})`;
      throw new LabError('snapshot_exists', why, { hint });
    }
    const up = state.plan.nodes.filter((n) => nodeIsUp(state, n.name));
    const take: Take = { state, opts, up, replace: !!old, reporter, env };
    const rec = opts.diskOnly ? await takeDiskOnly(take) : await takeFull(take);
    state.snapshots = [...(state.snapshots ?? []).filter((s) => s.name !== opts.name), rec];
    writeState(state.plan.files.state, state);
    return rec;
  });
}

/** --disk-only: an internal snapshot in each stopped node's overlay, all or none. */
async function takeDiskOnly({ state, opts, up, replace, env }: Take): Promise<SnapshotRecord> {
  const plan = state.plan;
  if (up.length) {
    throw new LabError(
      'node_running',
      `--disk-only needs every node stopped; running: ${up.map((n) => n.name).join(', ')}`,
      {
        hint:
          'stop them first (vmlab stop <node>), or take a full snapshot of the running lab: ' +
          `vmlab snapshot --name ${opts.name} ${state.name}`,
      },
    );
  }
  checkDisks(state);
  const t0 = Date.now();
  const version = await qemuBinaryVersion(plan.qemuBinary);
  const accel = await startAccel(plan, env);
  // --force: the old one goes first (qemu-img refuses a name that exists).
  if (replace) {
    await onEach(plan.nodes, async (n) => {
      const has = (await overlayInfo(n.files.overlay)).snapshots.some((s) => s.name === opts.name);
      if (has) await deleteDiskSnapshot(n.files.overlay, opts.name);
    });
  }
  const made: NodePlan[] = [];
  const failed = await onEach(plan.nodes, async (n) => {
    await createSnapshot(n.files.overlay, opts.name);
    made.push(n);
  });
  if (failed.length) {
    await onEach(made, (n) => deleteDiskSnapshot(n.files.overlay, opts.name));
    const hint = 'the partial snapshots were deleted; nothing changed';
    const why = `disk snapshot "${opts.name}" failed: ${failureList(failed)}`;
    throw new LabError('snapshot_failed', why, { hint });
  }
  return snapshotRecord(state, opts.name, 'disk-only', Date.now() - t0, () => ({ accel, qemu_version: version }));
}

/** Full: every running node paused, saved (HMP savevm) in parallel, resumed; all or none. */
async function takeFull({ state, opts, up, replace, reporter }: Take): Promise<SnapshotRecord> {
  const plan = state.plan;
  const down = plan.nodes.filter((n) => !up.includes(n));
  if (down.length) {
    throw new LabError(
      'node_not_running',
      `a snapshot with RAM needs every node running; stopped: ${down.map((n) => n.name).join(', ')}`,
      {
        hint:
          `start them (vmlab start ${down[0]!.name}), or stop every node and take a disk snapshot: ` +
          `vmlab snapshot --disk-only --name ${opts.name} ${state.name}`,
      },
    );
  }
  const versions = new Map<string, string>();
  await Promise.all(up.map(async (n) => versions.set(n.name, await runningVersion(n))));
  const onFail = { hint: 'nothing was saved; try again', code: 'snapshot_failed' as const };
  const pausedMs = await withPaused(state, up, reporter, onFail, async () => {
    const pausedAt = Date.now();
    reporter.info(`Lab "${state.name}" paused; saving ${up.length} node(s) as "${opts.name}"`);
    const saved: NodePlan[] = [];
    const failed = await onEach(up, async (n) => {
      const t = Date.now();
      await hmpCommand(n.files.qmp, `savevm ${opts.name}`);
      saved.push(n);
      reporter.verbose(`${n.name}: saved in ${Date.now() - t} ms`);
    });
    if (failed.length) {
      // Nothing half-made stays: the nodes that did save drop theirs.
      for (const f of await onEach(saved, (n) => hmpCommand(n.files.qmp, `delvm ${opts.name}`))) {
        reporter.warn(`${f.node}: could not delete its partial snapshot (${f.error})`);
      }
      if (replace) {
        // savevm replaced the old one on the nodes that saved: its record is no longer true.
        state.snapshots = (state.snapshots ?? []).filter((s) => s.name !== opts.name);
        writeState(plan.files.state, state);
      }
      throw new LabError(
        'snapshot_failed',
        `snapshot "${opts.name}" of lab "${state.name}" failed on ${failureList(failed)}`,
        {
          hint:
            'every VM was resumed and the partial snapshots deleted; ' +
            'internal snapshots need every writable disk in qcow2',
        },
      );
    }
    return Date.now() - pausedAt;
  });
  return snapshotRecord(state, opts.name, 'full', pausedMs, (n) => ({
    accel: state.nodes[n.name]?.accel ?? plan.accel,
    qemu_version: versions.get(n.name) ?? 'unknown',
  }));
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
      if (nodeIsUp(state, n.name)) return hmpCommand(n.files.qmp, `delvm ${name}`);
      if (!existsSync(n.files.overlay)) return;
      const has = (await overlayInfo(n.files.overlay)).snapshots.some((s) => s.name === name);
      if (has) await deleteDiskSnapshot(n.files.overlay, name);
    });
    if (failed.length) {
      const hint = `try again: vmlab snapshot --delete ${name} ${state.name}`;
      const why = `deleting snapshot "${name}" failed on ${failureList(failed)}`;
      throw new LabError('snapshot_delete_failed', why, { hint });
    }
    state.snapshots = (state.snapshots ?? []).filter((s) => s.name !== name);
    writeState(state.plan.files.state, state);
    reporter.verbose(`snapshot "${name}" deleted from ${state.plan.nodes.length} node(s)`);
    return rec;
  });
}
