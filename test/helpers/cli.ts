import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/packageRoot.js';

export const repoRoot = packageRoot();
export const vmlabBin = join(repoRoot, 'bin', 'vmlab');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (the built one, as a user would), with its own VMLAB_HOME. */
export const vmlab = (args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<CliResult> =>
  runCli([vmlabBin, ...args], env, timeoutMs);

/** Run a command line (the CLI, or the CLI under a wrapper such as `ip netns exec`) and collect its output. */
export function runCli(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<CliResult> {
  return new Promise((done) => {
    // Its own process group, so a timeout also ends the ssh it may have started.
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A short state root: QMP socket paths must stay under 108 bytes. */
export const tempHome = () => mkdtempSync('/tmp/vmlab-t-');
