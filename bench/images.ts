/**
 * The image library against the raw tools, printed as ratios (asserts nothing):
 *  1. pull+verify of a ≥1 GiB image from a loopback HTTP server (python3 -m
 *     http.server, a separate process) vs `curl -o` alone and vs curl then
 *     `sha256sum`;
 *  2. copy-on-write overlay creation for 50 nodes on a 2 GiB base: time and
 *     bytes per node.
 *
 *   node dist/bench/images.js [--size-mib 1024]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openLibrary } from '../src/images/openLibrary.js';
import { createOverlay } from '../src/qemu/qemuImg.js';

const args = process.argv.slice(2);
const sizeMiB = Number(args[args.indexOf('--size-mib') + 1] ?? '') || 1024;
const work = mkdtempSync('/tmp/vmlab-bench-img-');
const www = join(work, 'www');
mkdirSync(www);
const file = join(www, 'big.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=full', file, `${sizeMiB}M`]);
const bytes = statSync(file).size;
const h = createHash('sha256');
await pipeline(createReadStream(file), h);
const sha = h.digest('hex');

const port = 28000 + Math.floor(Math.random() * 1000);
const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', www], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
const url = `http://127.0.0.1:${port}/big.qcow2`;
const secs = (t0: number) => (performance.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const curl = () => {
  const t0 = performance.now();
  spawnSync('curl', ['-sf', '-o', join(work, 'curl.out'), url]);
  return secs(t0);
};
const curlSha = () => {
  const t0 = performance.now();
  spawnSync('curl', ['-sf', '-o', join(work, 'curl.out'), url]);
  spawnSync('sha256sum', [join(work, 'curl.out')]);
  return secs(t0);
};
let n = 0;
const vmlabPull = async () => {
  const root = join(work, `home${n++}`);
  const lib = openLibrary(root, {});
  const t0 = performance.now();
  await lib.import(url, { name: 'big', checksum: `sha256:${sha}` });
  const s = secs(t0);
  rmSync(root, { recursive: true, force: true });
  return s;
};

const runs = 3;
const c: number[] = [];
const cs: number[] = [];
const v: number[] = [];
for (let i = 0; i < runs; i++) {
  c.push(curl());
  cs.push(curlSha());
  v.push(await vmlabPull());
}
server.kill();
const mib = bytes / 2 ** 20;
console.log(`bench/images: ${mib.toFixed(0)} MiB qcow2 over loopback HTTP, median of ${runs}`);
console.log(`  curl alone             ${median(c).toFixed(2)} s  (${(mib / median(c)).toFixed(0)} MiB/s)`);
console.log(`  curl + sha256sum       ${median(cs).toFixed(2)} s`);
console.log(`  vmlab pull+verify      ${median(v).toFixed(2)} s  (download + sha256 while streaming + qemu-img inspect)`);
console.log(`  throughput vs curl alone:        ${(median(c) / median(v)).toFixed(2)}×  (goal ≥ 0.9)`);
console.log(`  throughput vs curl + sha256sum:  ${(median(cs) / median(v)).toFixed(2)}×`);

// Overlays: 50 nodes on a 2 GiB base.
const base = join(work, 'base.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '2G']);
const times: number[] = [];
let total = 0;
for (let i = 0; i < 50; i++) {
  const ov = join(work, `ov${i}.qcow2`);
  const t0 = performance.now();
  await createOverlay(base, 'qcow2', ov);
  times.push(performance.now() - t0);
  total += statSync(ov).blocks * 512;
}
console.log(`overlays: 50 on a 2 GiB base: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms each (goal ≤ 50 ms); ${(total / 50 / 1024).toFixed(0)} KiB on disk each (goal ≤ 1 MiB)`);
rmSync(work, { recursive: true, force: true });
