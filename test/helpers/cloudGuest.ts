import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { packageRoot } from '../../src/packageRoot.js';
import { buildOnce, guestCacheDir, guestDigest } from './guestCache.js';

/** The cloud guest's file name in the cache: its build script's digest in it (a changed build is rebuilt). */
export const cloudGuestFile = () => `vmlab-cloud-debian12-${guestDigest('cloud')}.qcow2`;

/**
 * A real Debian 12 cloud image (debootstrap + cloud-init + openssh-server,
 * self-booting qcow2) built offline from Debian packages by
 * guest/cloud/build.sh, once, into the test cache outside the repo.
 * debootstrap needs root: returns null (and the caller skips) without it.
 */
export async function cloudGuest(): Promise<string | null> {
  const image = join(guestCacheDir(), cloudGuestFile());
  if (!existsSync(image) && process.getuid?.() !== 0) return null;
  return buildOnce(image, async () => {
    const code = await new Promise<number>((resolve) => {
      const child = spawn('bash', [join(packageRoot(), 'guest', 'cloud', 'build.sh'), image], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0 || !existsSync(image)) throw new Error(`guest/cloud/build.sh failed (exit ${code})`);
  });
}
