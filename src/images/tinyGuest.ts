import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../packageRoot.js';
import { VmlabError } from '../errors/vmlabError.js';
import type { Reporter } from '../host/reporter.js';
import { run } from '../host/subprocess.js';

export const TINY_IMAGE_NAME = 'vmlab-tiny.qcow2';

/** Where `vmlab images build tiny` puts the guest by default. */
export const defaultTinyImagePath = (root: string) => join(root, 'images', TINY_IMAGE_NAME);

/**
 * Build the tiny test guest (kernel + busybox + dropbear from Debian
 * packages, self-booting qcow2) with guest/tiny/build.sh. Downloaded .debs
 * are cached in $VMLAB_CACHE (default ~/.cache/vmlab) so rebuilds are offline.
 */
export async function buildTinyGuest(output: string, reporter: Reporter, env: NodeJS.ProcessEnv): Promise<string> {
  const out = resolve(output);
  mkdirSync(dirname(out), { recursive: true });
  const script = join(packageRoot(), 'guest', 'tiny', 'build.sh');
  const tail: string[] = [];
  const r = await run(['bash', script, out], {
    env,
    keepChars: 0, // the last lines are kept below
    onLine: (line) => {
      if (!line) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (/^step \d+\/\d+:/.test(line)) reporter.info(line);
      else reporter.verbose(line);
    },
  });
  const code = r.exitCode ?? 1;
  if (code !== 0) {
    throw new VmlabError(
      'guest_build_failed',
      `building the tiny guest failed (exit code ${code}):\n${tail.slice(-10).join('\n')}`,
      {
        hint: 'run ./install.sh to get the build tools, and check that apt can reach the Debian mirror',
      },
    );
  }
  return out;
}
