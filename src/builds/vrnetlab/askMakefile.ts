import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../buildError.js';
import { PRINT_MAKEFILE, PRINT_TARGET, parseMakeVars, tagFromVars, type TagAnswer } from './makeVars.js';

let extraMakefile: string | undefined;

/** The print-vars makefile, written once per process outside the checkout (the checkout may be read-only). */
function printMakefile(): string {
  if (!extraMakefile) {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-mk-'));
    extraMakefile = join(dir, 'print-vars.mk');
    writeFileSync(extraMakefile, PRINT_MAKEFILE);
  }
  return extraMakefile;
}

/**
 * Ask `deviceDir`'s Makefile what version and tag it would build from a
 * file named `fileName` (the file need not exist). make's own failure
 * (a Makefile error) is an answer with the reason; make missing is an error.
 */
export function askMakefile(deviceDir: string, fileName: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 20_000): Promise<TagAnswer> {
  const argv = ['-s', '--no-print-directory', '-f', 'Makefile', '-f', printMakefile(), `IMAGE=${fileName}`, PRINT_TARGET];
  return new Promise((resolve, reject) => {
    const child = spawn('make', argv, { cwd: deviceDir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new BuildError('make_missing', 'make is not installed: vrnetlab builds run `make docker-image`', 'install it: apt-get install make'));
      else reject(e);
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const tail = err.trim().split('\n').slice(-3).join(' | ') || `exit ${code ?? signal}`;
        return resolve({ ok: false, why: `make failed in ${deviceDir}: ${tail}` });
      }
      resolve(tagFromVars(parseMakeVars(out)));
    });
  });
}
