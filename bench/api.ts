/**
 * What the HTTP front door costs. Prints numbers and ratios; asserts nothing.
 *
 * - upload: a 1 GiB qcow2 through POST /api/v1/images/upload (streamed to
 *   disk while hashed, then inspected and registered), against `cp` of the
 *   same file on the same filesystem. Goal ≥ 0.8× cp's throughput.
 * - GET /api/v1/images with 1,000 images in the library, 10 clients at
 *   once (keep-alive): p50/p99 latency. Goal p99 < 20 ms.
 *
 * The server is the real `vmlab serve` on a real port, in its own process.
 *
 *   node dist/bench/api.js [--size-mib 1024] [--requests 3000] [--no-upload]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImageStore } from '../src/store/imageStore.js';
import { openStore, storePath } from '../src/store/database.js';

const vmlabBin = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../bin/vmlab');
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => (args.indexOf(name) >= 0 ? Number(args[args.indexOf(name) + 1]) : dflt);
const SIZE_MIB = arg('--size-mib', 1024);
const SKIP_UPLOAD = args.includes('--no-upload');
const REQUESTS = arg('--requests', 3000);
const CLIENTS = 10;
const TOKEN = 'bench-token-0123456789abcdefghij';
const H = { authorization: `Bearer ${TOKEN}` };

const home = mkdtempSync('/tmp/vmlab-bench-api-');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mibs = (bytes: number, msec: number) => `${(bytes / 1024 ** 2 / (msec / 1000)).toFixed(0)} MiB/s`;

async function startServer(): Promise<{ base: string; stop: () => Promise<void> }> {
  const child = spawn(vmlabBin, ['serve', '--listen', '127.0.0.1:0'], { env: { ...process.env, VMLAB_HOME: home, VMLAB_API_TOKEN: TOKEN, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const end = Date.now() + 20_000;
  while (!/vmlab API on (http:\/\/[\d.]+:\d+)\//.test(err)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`vmlab serve did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = /vmlab API on (http:\/\/[\d.]+:\d+)\//.exec(err)![1]!;
  return { base, stop: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  if (SKIP_UPLOAD) return latency();
  // A qcow2 with SIZE_MIB of real (incompressible) data, so the bytes have to move.
  const raw = join(home, 'data.raw');
  const src = join(home, 'big.qcow2');
  execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${SIZE_MIB}`, 'status=none']);
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, src]);
  rmSync(raw);
  const bytes = statSync(src).size;
  execFileSync('sync');

  const t0 = performance.now();
  const cp = spawnSync('cp', [src, join(home, 'copy.qcow2')]);
  if (cp.status !== 0) throw new Error(`cp failed: ${cp.stderr}`);
  const cpMs = performance.now() - t0;
  rmSync(join(home, 'copy.qcow2'));

  const server = await startServer();
  try {
    const form = new FormData();
    form.set('name', 'big');
    form.set('file', await openAsBlob(src), 'big.qcow2');
    const t1 = performance.now();
    const res = await fetch(`${server.base}/api/v1/images/upload`, { method: 'POST', headers: H, body: form });
    const body = await res.text();
    const upMs = performance.now() - t1;
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${body}`);

    console.log(`upload of ${(bytes / 1024 ** 3).toFixed(2)} GiB (qcow2, random data)`);
    console.log(`  cp                ${ms(cpMs).padStart(10)}  ${mibs(bytes, cpMs)}`);
    console.log(`  POST upload (201) ${ms(upMs).padStart(10)}  ${mibs(bytes, upMs)}`);
    console.log(`  ratio             ${(cpMs / upMs).toFixed(2)}× cp's throughput (goal ≥ 0.8×)`);
  } finally {
    await server.stop();
  }

  await latency();
}

async function latency(): Promise<void> {
  // 1,000 images in the library (rows as a pull leaves them), then a fresh server.
  const store = new ImageStore(openStore(storePath(home)));
  const have = store.list().length;
  for (let i = have; i < 1000; i++) {
    store.add({ name: `bench-${String(i).padStart(4, '0')}`, source_type: 'file', source: `/srv/images/bench-${i}.qcow2`, status: 'ready', format: 'qcow2', virtual_size: 10 * 1024 ** 3, actual_size: 600 * 1024 ** 2, sha256: 'ab'.repeat(32), os_family: 'linux', os_distro: 'debian', os_version: '12', os_arch: 'x86_64', default_user: 'debian', cloud_init: 1, path: `/srv/images/bench-${i}.qcow2` });
  }
  const server2 = await startServer();
  try {
    const first = await fetch(`${server2.base}/api/v1/images`, { headers: H });
    const list = (await first.json()) as unknown[];
    if (first.status !== 200 || list.length !== 1000) throw new Error(`GET /api/v1/images: ${first.status}, ${list.length} images`);
    const size = Number(first.headers.get('content-length'));
    // Until the last byte is in: the client does not parse the JSON (that would time the client, 10 of them on one thread).
    const get = async () => {
      const t = performance.now();
      const r = await fetch(`${server2.base}/api/v1/images`, { headers: H });
      const body = await r.arrayBuffer();
      if (r.status !== 200 || body.byteLength !== size) throw new Error(`GET /api/v1/images: ${r.status}, ${body.byteLength} bytes`);
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) await get(); // warm up
    const lat: number[] = [];
    const t2 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = 0; i < REQUESTS / CLIENTS; i++) lat.push(await get());
      }),
    );
    const wall = performance.now() - t2;
    lat.sort((a, b) => a - b);
    const single: number[] = [];
    for (let i = 0; i < 200; i++) single.push(await get());
    single.sort((a, b) => a - b);
    console.log(`GET /api/v1/images, 1,000 images (${(size / 1024).toFixed(0)} KiB of JSON; time to the last byte, not parsed)`);
    console.log(`  1 client          p50 ${ms(percentile(single, 50))}  p99 ${ms(percentile(single, 99))}`);
    console.log(`  ${CLIENTS} clients        p50 ${ms(percentile(lat, 50))}  p99 ${ms(percentile(lat, 99))}  max ${ms(lat.at(-1)!)}  (${(REQUESTS / (wall / 1000)).toFixed(0)} req/s)`);
    console.log(`  ratio             p99 is ${(percentile(lat, 99) / 20).toFixed(2)}× the 20 ms goal`);
  } finally {
    await server2.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
