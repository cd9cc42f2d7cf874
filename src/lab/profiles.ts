import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { applyEdits, modify, parse } from 'jsonc-parser';
import type { LabPlan, ProfilePatch } from '../plan/labPlan.js';
import { writeFileAtomic } from './atomicWrite.js';

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

/** Keep the original profile in the lab dir, then write the patched one. */
export function applyProfilePatches(plan: LabPlan): void {
  mkdirSync(plan.files.profileBackups, { recursive: true });
  for (const p of plan.profiles) {
    const backup = join(plan.files.profileBackups, `${p.node}.json`);
    // The backup may hold a password (ssh_pass): owner-only.
    if (!existsSync(backup)) writeFileAtomic(backup, p.before, 0o600);
    writeProfile(p.path, p.after);
  }
}

/**
 * Put a profile back as it was. If nobody touched it since deploy the
 * original bytes return; if someone edited it, only vmlab's own fields are
 * undone so their edits survive.
 */
export function restoredProfileText(current: string, patch: ProfilePatch): string {
  if (current === patch.after) return patch.before;
  const before = parse(patch.before) as Record<string, unknown>;
  let out = current;
  for (const key of Object.keys(patch.set)) {
    out = applyEdits(out, modify(out, [key], key in before ? before[key] : undefined, { formattingOptions: { insertSpaces: true, tabSize: 2 } }));
  }
  return out;
}

export function restoreProfiles(plan: LabPlan): string[] {
  const restored: string[] = [];
  for (const p of plan.profiles) {
    if (!existsSync(p.path)) continue;
    const current = readFileSync(p.path, 'utf8');
    const next = restoredProfileText(current, p);
    if (next !== current) {
      writeProfile(p.path, next);
      restored.push(p.label);
    }
  }
  return restored;
}
