import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './processes.js';

/**
 * Remove what a killed process left in `dir`: temp files and dirs carry
 * their writer's pid in their name (`pidOf` reads it), so one whose pid is
 * gone (kill -9, a crash) is debris, while a live writer's is left alone.
 */
export function removeLeftByDead(dir: string, pidOf: (name: string) => number | undefined): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const pid = pidOf(f);
    if (pid && pid !== process.pid && !isAlive(pid)) rmSync(join(dir, f), { recursive: true, force: true });
  }
}

/** The pid after `prefix` in a name like `<prefix><pid>`, if the name is one. */
export const pidAfter = (prefix: string) => (name: string) =>
  name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : undefined;
