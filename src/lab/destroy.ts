import { existsSync, rmSync } from 'node:fs';
import { labFiles } from '../plan/labFiles.js';
import { withLabLock } from './labLock.js';
import { readState, type LabState } from './labState.js';
import type { LabRef } from './labSelect.js';
import { findQemusUnder, isOurQemu, terminate } from './processes.js';
import { restoreProfiles } from './profiles.js';
import { stopQemu } from './qemuProcess.js';
import type { Reporter } from './reporter.js';

export interface DestroyResult {
  stopped: string[];
  restoredProfiles: string[];
  existed: boolean;
}

/**
 * Remove a lab whatever shape it is in: dead pids, missing files and a
 * reused pid (checked against our QMP path) are all fine. Idempotent.
 * With `force`, an unreadable state.json does not stop it either.
 */
export async function destroyLab(ref: LabRef, opts: { force: boolean }, reporter: Reporter): Promise<DestroyResult> {
  const files = labFiles(ref.dir);
  if (!existsSync(ref.dir)) return { stopped: [], restoredProfiles: [], existed: false };
  return withLabLock(files.lock, ref.name, async () => {
    let state: LabState | undefined;
    try {
      state = readState(files.state);
    } catch (err) {
      if (!opts.force && existsSync(files.state)) throw err;
      reporter.warn(`state of lab "${ref.name}" unreadable; cleaning up by process scan (--force)`);
    }
    const stopped: string[] = [];
    if (state) {
      await Promise.all(
        state.plan.nodes.map(async (n) => {
          const pid = state.nodes[n.name]?.pid;
          if (pid && isOurQemu(pid, n.files.qmp)) {
            await stopQemu(n, pid, { graceful: false, timeoutMs: 0 }, reporter.verbose);
            stopped.push(n.name);
          }
        }),
      );
    }
    // Any QEMU still running from this lab dir (state lost track of it).
    for (const pid of findQemusUnder(ref.dir)) {
      reporter.verbose(`stopping stray QEMU pid ${pid} of lab ${ref.name}`);
      await terminate(pid);
    }
    const restoredProfiles = state ? restoreProfiles(state.plan) : [];
    rmSync(ref.dir, { recursive: true, force: true });
    return { stopped, restoredProfiles, existed: true };
  });
}
