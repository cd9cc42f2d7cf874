import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { applyEdits, modify, parse } from 'jsonc-parser';
import type { LabFiles } from '../../plan/labFiles.js';
import type { LabPlan, ProfilePatch } from '../../plan/labPlan.js';
import { writeFileAtomic } from '../../host/atomicWrite.js';

/**
 * Replace a profile's content atomically without changing what it is: a
 * symlink stays a symlink (the write goes to its target, beside the
 * target), and the file keeps its mode (writeFileAtomic keeps it).
 */
function writeProfile(path: string, text: string): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch (err) {
    // Gone since it was read: write a new file where it was.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileAtomic(target, text);
}

/** What this lab wrote into which profile: enough to undo it without state.json. */
export const profileManifest = (backups: string) => join(backups, 'manifest.json');

/**
 * Record the patches (and each original) in the lab dir first, then write
 * the patched profiles. Only a lab that got this far restores anything.
 */
export function applyProfilePatches(plan: LabPlan): void {
  mkdirSync(plan.files.profileBackups, { recursive: true, mode: 0o700 });
  // The originals may hold a password (ssh_pass): owner-only.
  writeFileAtomic(profileManifest(plan.files.profileBackups), JSON.stringify(plan.profiles, null, 2) + '\n', 0o600);
  for (const p of plan.profiles) {
    const backup = join(plan.files.profileBackups, `${p.node}.json`);
    if (!existsSync(backup)) writeFileAtomic(backup, p.before, 0o600);
    writeProfile(p.path, p.after);
  }
}

/**
 * Put a profile back as it was. If nobody touched it since deploy the
 * original bytes return. Otherwise only the fields that still hold what
 * this lab wrote are undone: edits by people, or by another lab deployed
 * from the same spec dir (another VMLAB_HOME), survive.
 */
export function restoredProfileText(current: string, patch: ProfilePatch): string {
  if (current === patch.after) return patch.before;
  const before = parse(patch.before) as Record<string, unknown>;
  const now = (parse(current) ?? {}) as Record<string, unknown>;
  let out = current;
  for (const [key, ours] of Object.entries(patch.set)) {
    if (now[key] !== ours) continue;
    out = applyEdits(
      out,
      modify(out, [key], key in before ? before[key] : undefined, {
        formattingOptions: { insertSpaces: true, tabSize: 2 },
      }),
    );
  }
  return out;
}

export interface RestoreResult {
  restored: string[];
  /** Why some or all could not be restored; the originals are then kept. */
  problem?: string;
}

/** Read the patches a lab applied; undefined when it applied none. */
export function readProfileManifest(backups: string): ProfilePatch[] | undefined {
  const file = profileManifest(backups);
  if (!existsSync(file)) return undefined;
  const patches = JSON.parse(readFileSync(file, 'utf8')) as ProfilePatch[];
  if (!Array.isArray(patches)) throw new Error('not a list');
  return patches;
}

/**
 * Undo what this lab wrote into the profiles, from its own record in the
 * lab dir (state.json is not needed). A lab that never patched (its deploy
 * failed first) restores nothing.
 */
export function restoreProfiles(files: Pick<LabFiles, 'profileBackups'>): RestoreResult {
  let patches: ProfilePatch[] | undefined;
  try {
    patches = readProfileManifest(files.profileBackups);
  } catch (err) {
    return {
      restored: [],
      problem: `${profileManifest(files.profileBackups)} is unreadable (${(err as Error).message})`,
    };
  }
  if (!patches) return { restored: [] };
  const restored: string[] = [];
  const missing: string[] = [];
  for (const p of patches) {
    if (!existsSync(p.path)) {
      missing.push(p.path);
      continue;
    }
    const current = readFileSync(p.path, 'utf8');
    const next = restoredProfileText(current, p);
    if (next !== current) {
      writeProfile(p.path, next);
      restored.push(p.label);
    }
  }
  return missing.length ? { restored, problem: `profile(s) gone: ${missing.join(', ')}` } : { restored };
}
