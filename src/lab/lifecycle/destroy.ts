import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { labFiles } from '../../plan/labFiles.js';
import { withLabDir } from '../state/withLab.js';
import { scanLabQemus } from '../state/labScan.js';
import { scanLabPassts } from '../node/passtProcess.js';
import { scanLabRelays } from '../node/sshRelay.js';
import { readState, type LabState } from '../state/labState.js';
import type { LabRef } from '../state/labSelect.js';
import { isOurQemu, terminate } from '../../host/processes.js';
import { restoreProfiles } from './profiles.js';
import { stopQemu } from '../node/qemuProcess.js';
import type { Reporter } from '../../host/reporter.js';

export interface DestroyResult {
  stopped: string[];
  restoredProfiles: string[];
  existed: boolean;
  /** Set when profiles could not all be restored: where their originals were kept. */
  keptOriginals?: string;
}

/**
 * Remove a lab whatever shape it is in: dead pids, a reused pid (checked
 * against our QMP path), QEMUs state.json forgot or a state.json that is
 * gone are all fine: processes are found by their lab path, profiles are
 * restored from the lab's own record of what it wrote. Idempotent. Only an
 * unreadable state.json needs `force` (it may be a newer vmlab's).
 */
export async function destroyLab(ref: LabRef, opts: { force: boolean }, reporter: Reporter): Promise<DestroyResult> {
  const files = labFiles(ref.dir);
  if (!existsSync(ref.dir)) return { stopped: [], restoredProfiles: [], existed: false };
  return withLabDir(ref, async () => {
    // A concurrent destroy may have finished while we waited for the lock: then only our lock is left.
    if (readdirSync(ref.dir).every((e) => join(ref.dir, e) === files.lock) && scanLabQemus(ref.dir).size === 0) {
      rmSync(ref.dir, { recursive: true, force: true });
      return { stopped: [], restoredProfiles: [], existed: false };
    }
    let state: LabState | undefined;
    if (existsSync(files.state)) {
      try {
        state = readState(files.state);
      } catch (err) {
        if (!opts.force) throw err;
        reporter.warn(`state of lab "${ref.name}" is unreadable; finding its QEMUs by their lab path (--force)`);
      }
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
    for (const [node, pid] of scanLabQemus(ref.dir)) {
      reporter.verbose(`stopping QEMU pid ${pid} (${node}) of lab ${ref.name}, found by its lab path`);
      await terminate(pid);
      if (!node.startsWith('pid-')) stopped.push(node);
    }
    // A passt whose QEMU never connected (it quits with its QEMU otherwise).
    for (const pid of scanLabPassts(ref.dir)) await terminate(pid);
    // A multi-host node's SSH relay quits with its QEMU within 250 ms; now is sooner.
    for (const pid of scanLabRelays(ref.dir)) await terminate(pid);

    const profiles = restoreProfiles(files);
    if (!profiles.problem) {
      rmSync(ref.dir, { recursive: true, force: true });
      return { stopped, restoredProfiles: profiles.restored, existed: true };
    }
    // Keep the originals (and only them) where the user can find them.
    reporter.warn(
      `profiles of lab "${ref.name}" not fully restored: ${profiles.problem}; ` +
        `originals kept in ${files.profileBackups}`,
    );
    for (const entry of readdirSync(ref.dir))
      if (join(ref.dir, entry) !== files.profileBackups) rmSync(join(ref.dir, entry), { recursive: true, force: true });
    return { stopped, restoredProfiles: profiles.restored, existed: true, keptOriginals: files.profileBackups };
  });
}
