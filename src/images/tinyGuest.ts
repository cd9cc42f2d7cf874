import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../packageRoot.js';
import { VmlabError } from '../errors/vmlabError.js';
import type { Reporter } from '../host/reporter.js';

export const TINY_IMAGE_NAME = 'vmlab-tiny.qcow2';

/** Where `vmlab images build tiny` puts the guest by default. */
export const defaultTinyImagePath = (root: string) => join(root, 'images', TINY_IMAGE_NAME);

/**
 * Build the tiny test guest (kernel + busybox + dropbear from Debian
 * packages, self-booting qcow2) with guest/tiny/build.sh. Downloaded .debs
 * are cached in $VMLAB_CACHE (default ~/.cache/vmlab) so rebuilds are offline.
 */
export async function buildTinyGuest(output: string, reporter: Reporter, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const out = resolve(output);
  mkdirSync(dirname(out), { recursive: true });
  const script = join(packageRoot(), 'guest', 'tiny', 'build.sh');
  const tail: string[] = [];
  const code = await new Promise<number>((done) => {
    const child = spawn('bash', [script, out], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const onLine = (buf: Buffer, isErr: boolean) => {
      for (const line of buf.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (/^step \d+\/\d+:/.test(line)) reporter.info(line);
        else if (isErr) reporter.verbose(line);
        else reporter.verbose(line);
      }
    };
    child.stdout.on('data', (b: Buffer) => onLine(b, false));
    child.stderr.on('data', (b: Buffer) => onLine(b, true));
    child.on('error', () => done(127));
    child.on('close', (c) => done(c ?? 1));
  });
  if (code !== 0) {
    throw new VmlabError('guest_build_failed', `building the tiny guest failed (exit code ${code}):\n${tail.slice(-10).join('\n')}`, {
      hint: 'run ./install.sh to get the build tools, and check that apt can reach the Debian mirror',
    });
  }
  return out;
}
