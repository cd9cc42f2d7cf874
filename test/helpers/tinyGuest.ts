import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { vmlab } from './cli.js';
import { buildOnce, guestCacheDir, guestDigest } from './guestCache.js';

/** The tiny guest's file name in the cache: its sources' digest in it (a changed rcS is rebuilt). */
export const tinyGuestFile = () => `vmlab-tiny-${guestDigest('tiny')}.qcow2`;

/**
 * The tiny guest for e2e tests, built once into a cache outside the repo
 * (VMLAB_TEST_CACHE, default ~/.cache/vmlab/test) and reused by every run
 * until its sources change.
 */
export function tinyGuest(): Promise<string> {
  const image = join(guestCacheDir(), tinyGuestFile());
  return buildOnce(image, async () => {
    const r = await vmlab(['images', 'build', 'tiny', '--output', image], {}, 900_000);
    if (r.code !== 0 || !existsSync(image)) throw new Error(`building the tiny guest failed:\n${r.stderr}`);
  });
}
