import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { vmlab, repoRoot } from './cli.js';
import { buildOnce, guestCacheDir } from './guestCache.js';

/** Every file under dir, sorted (the guest's sources). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Short digest of the tiny guest's sources (guest/tiny and guest/lib.sh):
 * part of the cached image's name, so a changed guest contract (rcS) is
 * rebuilt instead of silently testing a stale image.
 */
export function tinyGuestDigest(): string {
  const h = createHash('sha256');
  for (const f of [...filesUnder(join(repoRoot, 'guest', 'tiny')), join(repoRoot, 'guest', 'lib.sh')]) {
    h.update(relative(repoRoot, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

/**
 * The tiny guest for e2e tests, built once into a cache outside the repo
 * (VMLAB_TEST_CACHE, default ~/.cache/vmlab/test) and reused by every run
 * until its sources change.
 */
export function tinyGuest(): Promise<string> {
  const image = join(guestCacheDir(), `vmlab-tiny-${tinyGuestDigest()}.qcow2`);
  return buildOnce(image, async () => {
    const r = await vmlab(['images', 'build', 'tiny', '--output', image], {}, 900_000);
    if (r.code !== 0 || !existsSync(image)) throw new Error(`building the tiny guest failed:\n${r.stderr}`);
  });
}
