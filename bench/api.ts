/**
 * What the HTTP front door costs. Prints numbers and ratios; asserts nothing.
 *
 * - upload: a 1 GiB qcow2 through POST /api/v1/images/upload (streamed to
 *   disk while hashed, then inspected and registered; curl is the client),
 *   against `cp` of the same file on the same filesystem (goal ≥ 0.8× cp's
 *   throughput), and against `cp` then `openssl dgst -sha256`, the raw tools
 *   doing the same work.
 * - GET /api/v1/images with 1,000 images in the library, 10 clients at
 *   once (keep-alive): p50/p99 latency. Goal p99 < 20 ms.
 *
 * The server is the real `vmlab serve` on a real port, in its own process.
 *
 *   node dist/bench/api.js [--size-mib 1024] [--requests 3000] [--no-upload] [--profile-server DIR]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImageStore } from '../src/store/imageStore.js';
import { openStore, storePath } from '../src/store/database.js';

const vmlabBin = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../bin/vmlab');
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => (args.indexOf(name) >= 0 ? Number(args[args.indexOf(name) + 1]) : dflt);
const SIZE_MIB = arg('--size-mib', 1024);
const SKIP_UPLOAD = args.includes('--no-upload');
const REQUESTS = arg('--requests', 3000);
const PROFILE = args.indexOf('--profile-server') >= 0 ? args[args.indexOf('--profile-server') + 1] : undefined;
const CLIENTS = 10;
const TOKEN = 'bench-token-0123456789abcdefghij';
const H = { authorization: `Bearer ${TOKEN}` };

const home = mkdtempSync('/tmp/vmlab-bench-api-');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mibs = (bytes: number, msec: number) => `${(bytes / 1024 ** 2 / (msec / 1000)).toFixed(0)} MiB/s`;

async function startServer(): Promise<{ base: string; stop: () => Promise<void> }> {
  const node = PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : [];
  // The log goes to a file, as a service's would: a pipe read by this (busy) process would slow the server's writes.
  const log = join(home, `serve-${Date.now()}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [...node, vmlabBin, 'serve', '--listen', '127.0.0.1:0'], {
    env: { ...process.env, VMLAB_HOME: home, VMLAB_API_TOKEN: TOKEN, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', fd],
  });
  closeSync(fd);
  let err = '';
  const end = Date.now() + 20_000;
  while (!/vmlab API on (http:\/\/[\d.]+:\d+)\//.test((err = readFileSync(log, 'utf8')))) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`vmlab serve did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = /vmlab API on (http:\/\/[\d.]+:\d+)\//.exec(err)![1]!;
  return {
    base,
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
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

  const copy = join(home, 'copy.qcow2');
  const timed = (cmd: string, argv: string[]) => {
    const t = performance.now();
    const r = spawnSync(cmd, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    return performance.now() - t;
  };
  const cpMs = timed('cp', [src, copy]);
  // The raw tools doing what an upload does: move the bytes, then hash them (openssl: SHA-NI where the CPU has it).
  const hashMs = timed('openssl', ['dgst', '-sha256', copy]);
  rmSync(copy);

  const server = await startServer();
  try {
    // curl as the client: the server is what is measured (Node's fetch encodes a FormData blob at a fraction of this speed).
    const t1 = performance.now();
    const up = spawnSync(
      'curl',
      [
        '-sS',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        '-H',
        `authorization: Bearer ${TOKEN}`,
        '-F',
        'name=big',
        '-F',
        `file=@${src}`,
        `${server.base}/api/v1/images/upload`,
      ],
      { encoding: 'utf8' },
    );
    const upMs = performance.now() - t1;
    const status = up.stdout.trim().split('\n').at(-1);
    if (up.status !== 0 || status !== '201')
      throw new Error(`upload failed (curl ${up.status}, HTTP ${status}): ${up.stdout}${up.stderr}`);

    console.log(`upload of ${(bytes / 1024 ** 3).toFixed(2)} GiB (qcow2, random data)`);
    console.log(`  cp                ${ms(cpMs).padStart(10)}  ${mibs(bytes, cpMs)}`);
    console.log(`  cp + openssl sha256 ${ms(cpMs + hashMs).padStart(8)}  ${mibs(bytes, cpMs + hashMs)}`);
    console.log(
      `  POST upload (201) ${ms(upMs).padStart(10)}  ${mibs(bytes, upMs)}  (streamed, hashed on a second thread, inspected, registered)`,
    );
    console.log(
      `  ratio             ${(cpMs / upMs).toFixed(2)}× cp's throughput (goal ≥ 0.8×); ${((cpMs + hashMs) / upMs).toFixed(2)}× cp + sha256`,
    );
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
    store.add({
      name: `bench-${String(i).padStart(4, '0')}`,
      source_type: 'file',
      source: `/srv/images/bench-${i}.qcow2`,
      status: 'ready',
      format: 'qcow2',
      virtual_size: 10 * 1024 ** 3,
      actual_size: 600 * 1024 ** 2,
      sha256: 'ab'.repeat(32),
      os_family: 'linux',
      os_distro: 'debian',
      os_version: '12',
      os_arch: 'x86_64',
      default_user: 'debian',
      cloud_init: 1,
      path: `/srv/images/bench-${i}.qcow2`,
    });
  }
  const server2 = await startServer();
  try {
    const first = await fetch(`${server2.base}/api/v1/images`, { headers: H });
    const list = (await first.json()) as unknown[];
    if (first.status !== 200 || list.length !== 1000)
      throw new Error(`GET /api/v1/images: ${first.status}, ${list.length} images`);
    const size = Number(first.headers.get('content-length'));
    // Until the last byte is in: the client does not parse the JSON (that would time the client, 10 of them on one thread).
    const get = async () => {
      const t = performance.now();
      const r = await fetch(`${server2.base}/api/v1/images`, { headers: H });
      const body = await r.arrayBuffer();
      if (r.status !== 200 || body.byteLength !== size)
        throw new Error(`GET /api/v1/images: ${r.status}, ${body.byteLength} bytes`);
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
    console.log(
      `GET /api/v1/images, 1,000 images (${(size / 1024).toFixed(0)} KiB of JSON; time to the last byte, not parsed)`,
    );
    console.log(`  1 client          p50 ${ms(percentile(single, 50))}  p99 ${ms(percentile(single, 99))}`);
    console.log(
      `  ${CLIENTS} clients        p50 ${ms(percentile(lat, 50))}  p99 ${ms(percentile(lat, 99))}  max ${ms(lat.at(-1)!)}  (${(REQUESTS / (wall / 1000)).toFixed(0)} req/s)`,
    );
    console.log(`  ratio             p99 is ${(percentile(lat, 99) / 20).toFixed(2)}× the 20 ms goal`);
  } finally {
    await server2.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
