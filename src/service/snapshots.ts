import type { LabRef } from '../lab/labSelect.js';
import { deleteSnapshot, listSnapshots, restoreSnapshot, resumeLab, takeSnapshot, type RestoreResult, type SnapshotOptions } from '../lab/snapshot.js';
import type { SnapshotRecord } from '../lab/snapshotFacts.js';
import { LabError } from '../lab/labError.js';
import { exportSnapshot, type ExportResult } from '../lab/snapshotArchive.js';
import type { OpContext } from './labs.js';

/**
 * Whole-lab snapshots: what both front doors call. Each call reads the
 * lab's state from disk and takes the lab lock, so a CLI and a server can
 * share a lab. An aborted signal refuses to begin; once the lab is paused
 * the work runs to the end (a lab is never left paused half-way).
 */
export class SnapshotService {
  snapshot(ref: LabRef, opts: SnapshotOptions, op: OpContext): Promise<SnapshotRecord> {
    notAborted(op);
    return takeSnapshot(ref, opts, op.reporter);
  }

  list(ref: LabRef): SnapshotRecord[] {
    return listSnapshots(ref);
  }

  restore(ref: LabRef, name: string, op: OpContext): Promise<RestoreResult> {
    notAborted(op);
    return restoreSnapshot(ref, name, op.reporter);
  }

  /** Every paused VM of the lab runs again (what a vmlab killed mid-snapshot leaves); the nodes resumed. */
  resume(ref: LabRef, op: OpContext): Promise<string[]> {
    return resumeLab(ref, op.reporter);
  }

  /** Write a full snapshot into one portable file (a bare name: into the store, where a warm deploy finds it by that name). */
  export(ref: LabRef, name: string, file: string, opts: { withBase: boolean }, op: OpContext): Promise<ExportResult> {
    notAborted(op);
    return exportSnapshot(ref, name, file, opts, op.reporter);
  }

  delete(ref: LabRef, name: string, op: OpContext): Promise<SnapshotRecord> {
    notAborted(op);
    return deleteSnapshot(ref, name, op.reporter);
  }
}

function notAborted(op: OpContext): void {
  if (op.signal?.aborted) throw new LabError('cancelled before it began', 'run it again', 'failure', 'cancelled');
}

export type { SnapshotRecord, RestoreResult, SnapshotOptions, ExportResult };
