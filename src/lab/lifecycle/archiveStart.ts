import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pidAfter, removeLeftByDead } from '../../host/leftovers.js';
import type { Reporter } from '../../host/reporter.js';
import type { LabPlan } from '../../plan/labPlan.js';
import type { ImageFactsResolver } from '../node/hostProbe.js';
import { openArchive } from '../snapshot/archiveOpen.js';
import { qemuBinaryVersion } from '../node/qemuVersion.js';
import { setClockWithRetry } from '../snapshot/guestClock.js';
import { checkWarmStart, placeWarmFiles, type WarmStart } from '../snapshot/snapshotArchive.js';
import type { StartSource } from './deployment.js';

/** A warm start: the exported snapshot's file, and where and how to unpack it. */
export interface ArchiveInput {
  file: string;
  /** vmlab's state root: the file is unpacked under its tmp/. */
  root: string;
  /** Included bases are inspected as any image from someone else (lab/ never imports images/). */
  images: ImageFactsResolver;
}

/**
 * Unpack an exported snapshot and check it can start this plan, before
 * anything of the lab is touched. Unpacked under the state root, named with
 * our pid: what a killed warm deploy of this lab left goes first; what this
 * one unpacks goes on close (or at once if the snapshot is refused).
 */
export async function archiveStart(plan: LabPlan, input: ArchiveInput, reporter: Reporter): Promise<StartSource> {
  const prefix = `warm-${plan.name}-`;
  removeLeftByDead(join(input.root, 'tmp'), pidAfter(prefix));
  const dir = join(input.root, 'tmp', `${prefix}${process.pid}`);
  const close = () => rmSync(dir, { recursive: true, force: true });
  try {
    reporter.verbose(`checking ${input.file}`);
    const archive = await openArchive(input.file, dir, input.images);
    const bases = await checkWarmStart(plan, archive, await qemuBinaryVersion(plan.qemuBinary));
    return warmSource({ archive, bases }, close);
  } catch (err) {
    close();
    throw err;
  }
}

/** Every guest resumes the RAM state saved in the snapshot, on the disks and keys it was saved with. */
function warmSource(warm: WarmStart, close: () => void): StartSource {
  const snapshot = warm.archive.manifest.snapshot;
  return {
    from: `, warm from snapshot "${snapshot.name}"`,
    placed: 'in place',
    check: async () => {}, // checked when it was opened
    place: (d) => placeWarmFiles(d.plan, warm),
    qemuArgs: () => ['-loadvm', snapshot.name],
    answered: async () => {},
    finish: async (d) => {
      // The guests resumed at the time they were saved.
      const clocks = await Promise.allSettled(d.plan.nodes.map((n) => setClockWithRetry(d.state, n.name, d.env)));
      clocks.forEach((c, i) => {
        if (c.status !== 'rejected') return;
        d.reporter.warn(`${d.plan.nodes[i]!.name}: clock not set (${(c.reason as Error).message})`);
      });
      d.state.snapshots = [snapshot];
    },
    close,
  };
}
