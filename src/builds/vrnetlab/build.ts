import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmlabError } from '../../errors/vmlabError.js';
import { withLock } from '../../host/lock.js';
import { sleep } from '../../host/processes.js';
import { BuildError } from '../buildError.js';
import { copyIn, type CopyResult } from '../../host/copyIn.js';
import { removeContainer } from '../docker.js';
import { parseBuiltTag, stepOf, type StepUpdate } from './buildOutput.js';
import { runMake, type MakeRun } from './runMake.js';

export interface BuildPlan {
  /** The vrnetlab device directory (absolute). */
  deviceDir: string;
  /** The library's disk. */
  source: string;
  /** The name the copy gets in the device dir (what its Makefile reads the version from). */
  buildFile: string;
  /** Makefile goal: 'docker-image', or null for the directory's default goal. */
  goal: string | null;
  allowHardLink: boolean;
  /** Where the per-directory locks live (under the vmlab root, not in the checkout). */
  lockDir: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

export interface BuildContext {
  log(line: string): void;
  step(update: StepUpdate): void;
  signal: AbortSignal;
}

export interface BuildOutcome {
  tag: string;
  copy: CopyResult;
  make: Pick<MakeRun, 'durationMs'>;
}

/** The make command line, as run (and as a bench runs it by hand). */
export function makeArgs(goal: string | null, buildFile: string): string[] {
  // IMAGES: only our file, whatever else sits in the directory (vrnetlab builds every file its glob finds).
  return goal === null ? [`IMAGE=${buildFile}`] : [`IMAGES=${buildFile}`, goal];
}

/** The lock on one device directory (its `.copy` note names the files a build put there). */
export const buildLockFile = (lockDir: string, deviceDir: string) =>
  join(lockDir, `vrnetlab-${createHash('sha256').update(deviceDir).digest('hex').slice(0, 16)}.lock`);

/**
 * Build one vrnetlab image: under the directory's lock, put the disk in
 * (reflink / hard link / copy), run make with a time limit, read the tag it
 * built. The copy (and make's own copy in docker/) is removed whatever
 * happens; a build that died with its process is cleaned up by the next
 * one to take the lock (the lock's `.copy` note names its files).
 */
export async function buildInDeviceDir(plan: BuildPlan, ctx: BuildContext): Promise<BuildOutcome> {
  mkdirSync(plan.lockDir, { recursive: true, mode: 0o700 });
  const lockPath = buildLockFile(plan.lockDir, plan.deviceDir);
  let entered = false;
  let waitingSaid = false;
  for (;;) {
    try {
      return await withLock(
        lockPath,
        `vrnetlab directory ${plan.deviceDir}`,
        () => {
          entered = true;
          return buildLocked(plan, ctx, `${lockPath}.copy`);
        },
        0,
      );
    } catch (err) {
      if (entered || !(err instanceof VmlabError) || err.code !== 'busy') throw err;
      if (ctx.signal.aborted) throw new BuildError('cancelled', `build cancelled while waiting for ${plan.deviceDir}`);
      if (!waitingSaid) ctx.log(`waiting: another build uses ${plan.deviceDir}`);
      waitingSaid = true;
      await sleep(1000);
    }
  }
}

async function buildLocked(plan: BuildPlan, ctx: BuildContext, note: string): Promise<BuildOutcome> {
  clearLeftovers(note, ctx);
  const dest = join(plan.deviceDir, plan.buildFile);
  const made = join(plan.deviceDir, 'docker', plan.buildFile);
  if (existsSync(dest)) {
    throw new BuildError('copy_exists', `${dest} exists already and is not vmlab's`, {
      hint: 'move it out of the vrnetlab directory (vrnetlab would build it too), then build again',
    });
  }
  writeFileSync(note, JSON.stringify({ files: [dest, made] }), { mode: 0o600 });
  try {
    ctx.step({ step: 'copy' });
    const copy = copyIn(plan.source, dest, { allowHardLink: plan.allowHardLink });
    ctx.log(`disk in place: ${dest} (${copy.method}, ${copy.bytesCopied} bytes copied)`);
    if (ctx.signal.aborted)
      throw new BuildError('cancelled', `build of ${plan.buildFile} cancelled before make started`);

    const args = makeArgs(plan.goal, plan.buildFile);
    ctx.log(`make ${args.join(' ')} (in ${plan.deviceDir}, limit ${Math.round(plan.timeoutMs / 60_000)} min)`);
    ctx.step({ step: 'make' });
    const run = await runMake({
      cwd: plan.deviceDir,
      args,
      env: plan.env,
      timeoutMs: plan.timeoutMs,
      signal: ctx.signal,
      onLine: (line) => {
        ctx.log(line);
        const s = stepOf(line);
        if (s) ctx.step(s);
      },
    });
    if (run.cancelled || run.timedOut) await removeInstallContainer(plan, ctx);
    const what = `make ${args.join(' ')} in ${plan.deviceDir}`;
    if (run.cancelled)
      throw new BuildError('cancelled', `build cancelled: ${what} and the docker commands it ran were stopped`);
    if (run.timedOut)
      throw new BuildError('timed_out', `timed out after ${Math.round(plan.timeoutMs / 60_000)} min: ${what}`, {
        hint: 'see the job log (vmlab jobs show <id>) for the step it was at',
      });
    if (run.exitCode !== 0) {
      throw new BuildError(
        'make_failed',
        `${run.signal ? `killed with ${run.signal}` : `exit code ${run.exitCode}`}: ${what}\n${tail(run.output)}`,
        { hint: failureHint(run.output) },
      );
    }
    const tag = parseBuiltTag(run.output);
    if (!tag)
      throw new BuildError(
        'no_tag',
        `${what} succeeded but its output names no image (no "naming to …" nor "Successfully tagged …" line)`,
        { hint: 'run the same make by hand to see what it did' },
      );
    return { tag, copy, make: { durationMs: run.durationMs } };
  } finally {
    for (const f of [dest, made]) rmSync(f, { force: true });
    rmSync(note, { force: true });
  }
}

/** Files a build whose process died left behind (it never reached its finally). */
function clearLeftovers(note: string, ctx: BuildContext): void {
  if (!existsSync(note)) return;
  try {
    const { files } = JSON.parse(readFileSync(note, 'utf8')) as { files: string[] };
    for (const f of files) {
      if (existsSync(f)) ctx.log(`removing ${f}, left by a build that was interrupted`);
      rmSync(f, { force: true });
    }
  } catch {
    /* an unreadable note: nothing we can trust to remove */
  }
  rmSync(note, { force: true });
}

/** An install phase (`docker run --cidfile cidfile … --install`) stopped half-way leaves its container running. */
async function removeInstallContainer(plan: BuildPlan, ctx: BuildContext): Promise<void> {
  const cidfile = join(plan.deviceDir, 'cidfile');
  if (!existsSync(cidfile)) return;
  const id = readFileSync(cidfile, 'utf8').trim();
  if (id) {
    ctx.log(`removing install-phase container ${id.slice(0, 12)}`);
    await removeContainer(id, plan.env);
  }
  rmSync(cidfile, { force: true });
}

/** The last lines that say something (make's own "Error 1" lines kept). */
function tail(output: string, n = 12): string {
  return output
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .slice(-n)
    .map((l) => `  ${l}`)
    .join('\n');
}

function failureHint(output: string): string {
  if (/BuildKit is enabled but the buildx component is missing/i.test(output))
    return 'this docker CLI has no buildx: set DOCKER_BUILDKIT=0 (classic builder) or install docker-buildx';
  if (/Incorrect version string/.test(output))
    return 'the Makefile cannot read a version from the file name: vmlab images detect <file> says which name works';
  if (
    /pull access denied|manifest unknown|not found: manifest|failed to resolve source metadata|no such host/i.test(
      output,
    )
  ) {
    return (
      "the Dockerfile's FROM image is neither local nor pullable: " +
      'pull or load it first (docker pull / docker load)'
    );
  }
  if (/\/dev\/kvm|KVM/.test(output))
    return 'this device boots its VM under KVM during the build: build on a host with working KVM';
  return 'the job log has the whole make output: vmlab jobs show <id>';
}
