import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../host/subprocess.js';
import { BuildError } from '../buildError.js';
import { PRINT_MAKEFILE, PRINT_TARGET, parseMakeVars, tagFromVars, type TagAnswer } from './makeVars.js';

let extraMakefile: string | undefined;

/**
 * The print-vars makefile, outside the checkout (which may be read-only):
 * one file per content and user in the temp dir, shared by every vmlab run
 * (written under a temporary name and renamed, so a reader never sees half).
 */
function printMakefile(): string {
  if (!extraMakefile) {
    const hash = createHash('sha256').update(PRINT_MAKEFILE).digest('hex').slice(0, 12);
    const uid = process.getuid?.() ?? -1;
    const path = join(tmpdir(), `vmlab-print-vars-${uid}-${hash}.mk`);
    // make runs this file: use it only if it is ours and says what we wrote (anyone may create files in /tmp).
    const trusted = () => {
      try {
        const st = lstatSync(path);
        return (
          st.isFile() && st.uid === uid && (st.mode & 0o022) === 0 && readFileSync(path, 'utf8') === PRINT_MAKEFILE
        );
      } catch {
        return false;
      }
    };
    if (!trusted()) {
      const part = join(mkdtempSync(join(tmpdir(), 'vmlab-mk-')), 'print-vars.mk');
      writeFileSync(part, PRINT_MAKEFILE, { mode: 0o644 });
      try {
        renameSync(part, path);
        rmdirSync(dirname(part));
      } catch {
        /* cannot replace it (another user's file): use our private copy */
      }
      extraMakefile = trusted() ? path : part;
    } else {
      extraMakefile = path;
    }
  }
  return extraMakefile;
}

/**
 * Ask `deviceDir`'s Makefile what version and tag it would build from a
 * file named `fileName` (the file need not exist). make's own failure
 * (a Makefile error) is an answer with the reason; make missing is an error.
 */
export async function askMakefile(
  deviceDir: string,
  fileName: string,
  env?: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<TagAnswer> {
  const argv = [
    '-s',
    '--no-print-directory',
    '-f',
    'Makefile',
    '-f',
    printMakefile(),
    `IMAGE=${fileName}`,
    PRINT_TARGET,
  ];
  const r = await run(['make', ...argv], {
    cwd: deviceDir,
    ...(env ? { env } : {}),
    timeoutMs,
    kill: { signal: 'SIGTERM' },
  });
  const e = r.spawnError as NodeJS.ErrnoException | undefined;
  if (e?.code === 'ENOENT') {
    const message = 'make is not installed: vrnetlab builds run `make docker-image`';
    throw new BuildError('make_missing', message, { hint: 'install it: apt-get install make' });
  }
  if (e) throw e;
  if (r.exitCode !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${r.exitCode ?? r.signal}`;
    return { ok: false, why: `make failed in ${deviceDir}: ${tail}` };
  }
  return tagFromVars(parseMakeVars(r.stdout));
}
