import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../src/host/subprocess.js';

/*
 * Crafting hostile snapshot archives the way an attacker would: unpack a
 * real export with the system tar, change its manifest or add members, and
 * pack it again with the system tar (which stores links and sparse files
 * as it finds them).
 */

export interface Part {
  path: string;
  sha256: string;
  bytes: number;
}

/** A file's manifest entry, as an export writes it. */
export function partOf(dir: string, path: string): Part {
  const full = join(dir, path);
  return { path, sha256: createHash('sha256').update(readFileSync(full)).digest('hex'), bytes: statSync(full).size };
}

export async function untar(file: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = await run(['tar', '-xf', file, '-C', dir]);
  if (r.exitCode !== 0) throw new Error(`tar -xf ${file}: ${r.stderr}`);
}

/** Write `manifest` into `dir`, pack it with `members` (paths in `dir`) into `out`; `sparse` packs holes as holes. */
export async function repack(
  dir: string,
  out: string,
  manifest: unknown,
  members: string[],
  opts: { sparse?: boolean } = {},
) {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const sparse = opts.sparse ? ['--sparse'] : [];
  const r = await run(['tar', ...sparse, '-cf', out, '-C', dir, 'manifest.json', ...members]);
  if (r.exitCode !== 0) throw new Error(`tar -cf ${out}: ${r.stderr}`);
  return out;
}

/** A crafted archive, and what its refusal must say (naming the member). */
export interface Attack {
  what: string;
  file: string;
  refusal: RegExp;
}

interface Manifest {
  lab_key: string;
  nodes: Record<
    string,
    {
      overlay: string;
      base: { sha256: string; format: string; bytes: number; included?: string };
    }
  >;
  parts: Part[];
}

/**
 * The attacks on a warm deploy, each crafted from a real export (`exported`,
 * a lab with node `node`) in `work`: the lab key read from outside the
 * archive; a listed lab_key.pub that is a symlink to `secret`; a 16 GiB
 * sparse part; an included base whose backing file is `secret` (the
 * node's overlay re-pointed at it, so it is the base a host without the
 * original would use).
 */
export async function craftAttacks(exported: string, work: string, node: string, secret: string): Promise<Attack[]> {
  const dir = join(work, 'unpacked');
  await untar(exported, dir);
  const m0 = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const paths = m0.parts.map((p) => p.path);
  const clone = () => JSON.parse(JSON.stringify(m0)) as Manifest;
  const out: Attack[] = [];

  const outside = clone();
  outside.lab_key = `${'../'.repeat(12)}${secret.replace(/^\//, '')}`;
  out.push({
    what: 'lab_key outside',
    file: await repack(dir, join(work, 'outside.tar'), outside, paths),
    refusal: /lab_key "(\.\.\/)+.*" is not among the listed, checked parts/,
  });

  const sym = clone();
  writeFileSync(join(dir, 'keys/k'), readFileSync(join(dir, m0.lab_key)));
  symlinkSync(secret, join(dir, 'keys/k.pub'));
  sym.lab_key = 'keys/k';
  sym.parts.push(partOf(dir, 'keys/k'), { ...partOf(dir, 'keys/k.pub'), path: 'keys/k.pub' });
  out.push({
    what: 'lab_key.pub a symlink',
    file: await repack(dir, join(work, 'symlink.tar'), sym, [...paths, 'keys/k', 'keys/k.pub']),
    refusal: /member "keys\/k\.pub" is a symbolic link \(to ".*"\)/,
  });

  const sparse = clone();
  const big = join(work, 'sparse', 'base', 'big.raw');
  mkdirSync(dirname(big), { recursive: true });
  writeFileSync(big, '');
  truncateSync(big, 16 * 2 ** 30);
  sparse.parts.push({ path: 'base/big.raw', sha256: '0'.repeat(64), bytes: 16 * 2 ** 30 });
  out.push({
    what: 'a 16 GiB sparse part',
    file: await repack(dir, join(work, 'sparse.tar'), sparse, [...paths, '-C', dirname(dirname(big)), 'base/big.raw'], {
      sparse: true,
    }),
    refusal: /member "base\/big\.raw" is stored sparse \(17179869184 bytes unpacked\)/,
  });

  const backed = clone();
  const evil = join(work, 'evil.qcow2');
  await must(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', evil]);
  const sha = partOf(work, 'evil.qcow2').sha256;
  const included = `base/${sha}.qcow2`;
  mkdirSync(join(dir, 'base'), { recursive: true });
  writeFileSync(join(dir, included), readFileSync(evil));
  const n = backed.nodes[node]!;
  await must(['qemu-img', 'rebase', '-u', '-b', `${sha}.qcow2`, '-F', 'qcow2', join(dir, n.overlay)]);
  n.base = { ...n.base, sha256: sha, format: 'qcow2', bytes: statSync(evil).size, included };
  backed.parts = [...backed.parts.filter((p) => p.path !== n.overlay), partOf(dir, n.overlay), partOf(dir, included)];
  const refusal = new RegExp(`${node}'s included base base/${sha}\\.qcow2: .* names a backing file \\(${secret}\\)`);
  const file = await repack(dir, join(work, 'backed.tar'), backed, [...paths, included]);
  out.push({ what: 'a base backed by a host file', file, refusal });
  return out;
}

async function must(argv: string[]): Promise<void> {
  const r = await run(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}
