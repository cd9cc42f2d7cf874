import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the test guests are cached, outside the repo (VMLAB_TEST_CACHE, default ~/.cache/vmlab/test). */
export const guestCacheDir = () => process.env.VMLAB_TEST_CACHE ?? join(homedir(), '.cache', 'vmlab', 'test');

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
