import type { Settings } from '../host/settings.js';
import type { LabRef } from '../lab/state/labSelect.js';
import { deleteSnapshot, listSnapshots, takeSnapshot, type SnapshotOptions } from '../lab/snapshot/snapshot.js';
import { restoreSnapshot, type RestoreResult } from '../lab/snapshot/restoreSnapshot.js';
import { resumeLab } from '../lab/snapshot/pause.js';
import { snapshotBytes, type SnapshotRecord } from '../lab/state/snapshotFacts.js';
import { LabError } from '../lab/labError.js';
import { exportSnapshot, type ExportResult } from '../lab/snapshot/snapshotExport.js';
import type { OpContext } from './labs.js';

/**
 * Whole-lab snapshots: what both front doors call. Each call reads the
 * lab's state from disk and takes the lab lock, so a CLI and a server can
 * share a lab. An aborted signal refuses to begin; once the lab is paused
 * the work runs to the end (a lab is never left paused half-way).
 */
export class SnapshotService {
  /** The environment guest clocks are set with over SSH (VMLAB_SSH names the client). */
  private readonly env: Readonly<NodeJS.ProcessEnv>;

  constructor(settings: Pick<Settings, 'childEnv'>) {
    this.env = settings.childEnv;
  }

  snapshot(ref: LabRef, opts: SnapshotOptions, op: OpContext): Promise<SnapshotRecord> {
    notAborted(op);
    return takeSnapshot(ref, opts, op.reporter, this.env);
  }

  list(ref: LabRef): SnapshotRecord[] {
    return listSnapshots(ref);
  }

  restore(ref: LabRef, name: string, op: OpContext): Promise<RestoreResult> {
    notAborted(op);
    return restoreSnapshot(ref, name, op.reporter, this.env);
  }

  /** Every paused VM of the lab runs again (what a vmlab killed mid-snapshot leaves); the nodes resumed. */
  resume(ref: LabRef, op: OpContext): Promise<string[]> {
    return resumeLab(ref, op.reporter);
  }

  /**
   * Write a full snapshot into one portable file (a bare name: into the store, where a warm deploy finds it by that
   * name).
   */
  export(ref: LabRef, name: string, file: string, opts: { withBase: boolean }, op: OpContext): Promise<ExportResult> {
    notAborted(op);
    return exportSnapshot(ref, name, file, opts, op.reporter);
  }

  /**
   * Take a snapshot, or with `export` write it into one file: an existing
   * snapshot of that name is exported as it is (unless `force` retakes it),
   * a new one is taken first. What both front doors' "snapshot" does.
   */
  async takeAndExport(
    ref: LabRef,
    opts: SnapshotOptions & { export?: string; withBase?: boolean },
    op: OpContext,
  ): Promise<{ taken?: SnapshotRecord; record: SnapshotRecord; exported?: ExportResult }> {
    const existing =
      opts.export !== undefined && !opts.force ? this.list(ref).find((s) => s.name === opts.name) : undefined;
    const taken = existing
      ? undefined
      : await this.snapshot(ref, { name: opts.name, force: Boolean(opts.force), diskOnly: Boolean(opts.diskOnly) }, op);
    const exported =
      opts.export !== undefined
        ? await this.export(ref, opts.name, opts.export, { withBase: Boolean(opts.withBase) }, op)
        : undefined;
    return { ...(taken ? { taken } : {}), record: (taken ?? existing)!, ...(exported ? { exported } : {}) };
  }

  /** The VM (RAM) state a snapshot holds, summed over its nodes. */
  vmStateBytes(rec: SnapshotRecord): number {
    return snapshotBytes(rec);
  }

  delete(ref: LabRef, name: string, op: OpContext): Promise<SnapshotRecord> {
    notAborted(op);
    return deleteSnapshot(ref, name, op.reporter);
  }
}

function notAborted(op: OpContext): void {
  if (op.signal?.aborted) throw new LabError('cancelled', 'cancelled before it began', { hint: 'run it again' });
}

export type { SnapshotRecord, RestoreResult, SnapshotOptions, ExportResult };
