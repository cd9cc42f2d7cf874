import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { vmlab } from './cli.js';

/**
 * The tiny guest for e2e tests, built once into a cache outside the repo
 * (VMLAB_TEST_CACHE, default ~/.cache/vmlab/test) and reused by every run.
 */
export async function tinyGuest(): Promise<string> {
  const dir = process.env.VMLAB_TEST_CACHE ?? join(homedir(), '.cache', 'vmlab', 'test');
  const image = join(dir, 'vmlab-tiny.qcow2');
  if (existsSync(image)) return image;
  mkdirSync(dir, { recursive: true });
  const r = await vmlab(['images', 'build', 'tiny', '--output', image], {}, 900_000);
  if (r.code !== 0 || !existsSync(image)) throw new Error(`building the tiny guest failed:\n${r.stderr}`);
  return image;
}
