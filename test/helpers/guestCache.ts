import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/packageRoot.js';

/** Where the test guests are cached, outside the repo (VMLAB_TEST_CACHE, default ~/.cache/vmlab/test). */
export const guestCacheDir = () => process.env.VMLAB_TEST_CACHE ?? join(homedir(), '.cache', 'vmlab', 'test');

/** Every file under dir, sorted (a guest's sources). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Short digest of a guest's sources (guest/<kind> and guest/lib.sh): part of
 * the cached image's name, so a changed guest is rebuilt instead of silently
 * testing a stale image.
 */
export function guestDigest(kind: 'tiny' | 'cloud'): string {
  const root = packageRoot();
  const h = createHash('sha256');
  for (const f of [...filesUnder(join(root, 'guest', kind)), join(root, 'guest', 'lib.sh')]) {
    h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Build `image` once across processes: `npm test` starts the builds in the
 * background (test/helpers/prebuildGuests) while the Node-only suites run,
 * and a test that needs a guest waits for that build instead of starting
 * its own. A build whose process died is taken over.
 */
export async function buildOnce(image: string, build: () => Promise<void>): Promise<string> {
  mkdirSync(guestCacheDir(), { recursive: true });
  const lock = `${image}.building`;
  for (;;) {
    if (existsSync(image)) return image;
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch {
      let pid = 0;
      let fresh = false;
      try {
        pid = Number(readFileSync(lock, 'utf8').trim() || 0);
        // No pid yet: its builder is between creating the lock and writing to it.
        fresh = !pid && Date.now() - statSync(lock).mtimeMs < 5000;
      } catch {
        continue; // the lock just went: look again
      }
      if ((pid && alive(pid)) || fresh) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      rmSync(lock, { force: true });
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    try {
      await build();
      return image;
    } finally {
      rmSync(lock, { force: true });
    }
  }
}
