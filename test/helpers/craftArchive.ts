import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/qemu/run.js';

/*
 * Crafting hostile snapshot archives the way an attacker would: unpack a
 * real export with the system tar, change its manifest or add members, and
 * pack it again with the system tar (which stores links and sparse files
 * as it finds them).
 */

export interface Part {
  path: string;
  sha256: string;
  bytes: number;
}

/** A file's manifest entry, as an export writes it. */
export function partOf(dir: string, path: string): Part {
  const full = join(dir, path);
  return { path, sha256: createHash('sha256').update(readFileSync(full)).digest('hex'), bytes: statSync(full).size };
}

export async function untar(file: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = await run(['tar', '-xf', file, '-C', dir]);
  if (r.exitCode !== 0) throw new Error(`tar -xf ${file}: ${r.stderr}`);
}

/** Write `manifest` into `dir` and pack it with `members` (paths in `dir`) into `out`; `sparse` packs holes as holes. */
export async function repack(dir: string, out: string, manifest: unknown, members: string[], opts: { sparse?: boolean } = {}): Promise<string> {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const r = await run(['tar', ...(opts.sparse ? ['--sparse'] : []), '-cf', out, '-C', dir, 'manifest.json', ...members]);
  if (r.exitCode !== 0) throw new Error(`tar -cf ${out}: ${r.stderr}`);
  return out;
}
