/**
 * The image library against the raw tools, printed as ratios in one run
 * (asserts nothing), each beside the limit it is measured against:
 *  1. pull+verify of a ≥1 GiB qcow2 from a loopback HTTP server without
 *     ranges (python3 -m http.server, a separate process: one stream) vs
 *     `curl -o` alone, vs `openssl dgst -sha256` alone (the hash limit), and
 *     vs curl then `sha256sum`;
 *     The CPU each side spends is printed too (curl, the server, openssl,
 *     vmlab with its hashing thread): on a 2-core host with the server on
 *     it, a verified pull cannot beat (their CPU) ÷ cores;
 *  2. segmented pull (up to 4 connections; a first stream that runs slower
 *     than 128 MiB/s for 1 s is split) vs curl from a server that throttles
 *     each connection (default 20 MiB/s), and on the same server unthrottled
 *     vs one connection (segments must never be slower);
 *  3. local import (copy + hash in one pass) vs `cp` and `openssl dgst`;
 *  4. upload through `vmlab serve` (curl -F) vs `cp`;
 *  5. copy-on-write overlay creation for 50 nodes on a 2 GiB base.
 *
 *   node dist/bench/images.js [--runs 3] [--size-mib 1024] [--seg-size-mib 256] [--rate-mib 20] [--port-base 34500]
 *     [--rows 1,2,3,4,5] [--before DIR]
 *
 * Row 1 also times `curl | tee FILE | openssl dgst -sha256`, the raw tools
 * doing the same work as a verified pull (download, write, hash at once).
 * --before DIR: another built checkout whose library is measured beside this
 * one in rows 1 and 3 (loaded in-process from DIR/dist).
 *
 * Servers listen on 127.0.0.1, ports port-base … port-base+2.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openLibrary } from '../src/images/openLibrary.js';
import { opt } from './args.js';
import { createOverlay } from '../src/qemu/qemuImg.js';

const args = process.argv.slice(2);
type OpenLibrary = typeof openLibrary;
/** The libraries compared: --before's first (its own build, loaded from its dist), then this one. */
const beforeDir = opt('--before', '');
const libraries: Array<{ label: string; open: OpenLibrary }> = beforeDir
  ? [
      {
        label: 'before',
        open: (
          (await import(join(resolve(beforeDir), 'dist/src/images/openLibrary.js'))) as { openLibrary: OpenLibrary }
        ).openLibrary,
      },
      { label: 'after', open: openLibrary },
    ]
  : [{ label: 'vmlab', open: openLibrary }];
const arg = (name: string, dflt: number) => Number(args[args.indexOf(name) + 1] ?? '') || dflt;
const sizeMiB = arg('--size-mib', 1024);
const segSizeMiB = arg('--seg-size-mib', 256);
const rateMiB = arg('--rate-mib', 20);
const portBase = arg('--port-base', 34500);
const rowsArg = args.includes('--rows') ? args[args.indexOf('--rows') + 1] : undefined;
const rows = new Set((rowsArg ?? '1,2,3,4,5').split(',').map(Number));
const work = mkdtempSync('/tmp/vmlab-bench-img-');
const www = join(work, 'www');
mkdirSync(www);
const file = join(www, 'big.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=full', file, `${sizeMiB}M`]);
const segFile = join(www, 'seg.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=full', segFile, `${segSizeMiB}M`]);
linkSync(segFile, join(www, 'slow.qcow2')); // the same bytes, throttled
const sha256Of = async (f: string) => {
  const h = createHash('sha256');
  await pipeline(createReadStream(f), h);
  return h.digest('hex');
};
const sha = await sha256Of(file);
const segSha = await sha256Of(segFile);

const secs = (t0: number) => (performance.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// CPU seconds from /proc: this process's reaped children, and a running process.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
/** Two fields of /proc/<pid>/stat (counted after the command name), added, in seconds. */
const cpuFields = (pid: number | 'self', a: number, b: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').map(Number);
  return (f[a]! + f[b]!) / CLK_TCK;
};
const childrenCpu = () => cpuFields('self', 13, 14); // cutime + cstime
const processCpu = (pid: number) => cpuFields(pid, 11, 12); // utime + stime
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const timed = (cmd: string, argv: string[]) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr?.toString() ?? r.status}`);
  return secs(t0);
};
const waitFor = async (url: string) => {
  for (let i = 0; i < 100; i++) {
    if (spawnSync('curl', ['-sf', '-o', '/dev/null', '-r', '0-0', url]).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
};
const children: ChildProcess[] = [];
const stop = () => {
  for (const c of children) c.kill();
};
process.on('exit', stop);

// Servers: python (no ranges, one stream), our test file server in its own process (ranges, per-connection throttle).
const pyPort = portBase;
const nodePort = portBase + 1;
const py = spawn('python3', ['-m', 'http.server', String(pyPort), '--bind', '127.0.0.1', '--directory', www], {
  stdio: 'ignore',
});
children.push(py);
const serverScript = join(work, 'server.mjs');
const helper = new URL('../test/helpers/fileServer.js', import.meta.url).href;
writeFileSync(
  serverScript,
  `import { serveDir } from ${JSON.stringify(helper)};\nawait serveDir(${JSON.stringify(www)}, { port: ${nodePort}, bytesPerSec: { '/slow.qcow2': ${rateMiB * 2 ** 20} } });\n`,
);
children.push(spawn(process.execPath, [serverScript], { stdio: 'ignore' }));
const pyUrl = `http://127.0.0.1:${pyPort}/big.qcow2`;
const nodeUrl = (p: string) => `http://127.0.0.1:${nodePort}/${p}`;
await waitFor(pyUrl);
await waitFor(nodeUrl('seg.qcow2'));

let n = 0;
const newHome = () => join(work, `home${n++}`);
/** A vmlab pull+verify (import by URL with the checksum): download, hash, qemu-img inspect, register. */
const pullRun = async (url: string, hex: string, connections?: number, open: OpenLibrary = openLibrary) => {
  const root = newHome();
  const lib = open(root, {});
  let split = false;
  const t0 = performance.now();
  await lib.import(
    url,
    { name: 'big', checksum: `sha256:${hex}`, ...(connections ? { connections } : {}) },
    { log: (l) => (split ||= / in \d+ segments of /.test(l)) },
  );
  const s = secs(t0);
  rmSync(root, { recursive: true, force: true });
  return { s, split };
};
const vmlabPull = async (url: string, hex: string, connections?: number, open?: OpenLibrary) =>
  (await pullRun(url, hex, connections, open)).s;
const vmlabImport = async (path: string, open: OpenLibrary = openLibrary) => {
  const root = newHome();
  const lib = open(root, {});
  const t0 = performance.now();
  await lib.import(path, { name: 'big' });
  const s = secs(t0);
  rmSync(root, { recursive: true, force: true });
  return s;
};
const ratio = (limit: number, ours: number) => `${(limit / ours).toFixed(2)}×`;
const mib = statSync(file).size / 2 ** 20;

const runs = arg('--runs', 3);
console.log(`bench/images (machine shared with other sessions: compare ratios within this run)`);
/** cp of the big file, timed (rows 3 and 4 print it). */
const cp: number[] = [];

// 1. One stream, loopback.
if (rows.has(1)) {
  const curl: number[] = [];
  const curlSha: number[] = [];
  const tee: number[] = [];
  const openssl: number[] = [];
  const pulls = libraries.map(() => [] as number[]);
  // CPU seconds per run: curl, the server while curl reads, openssl, vmlab (all its threads), the server while vmlab reads.
  const cpu = {
    curl: [] as number[],
    curlServer: [] as number[],
    openssl: [] as number[],
    vmlab: [] as number[],
    vmlabServer: [] as number[],
  };
  /** Run `f`, adding the CPU this process's children, this process and the server spent during it. */
  const metered = async <T>(
    f: () => T | Promise<T>,
    into: { kids?: number[]; own?: number[]; server?: number[] },
  ): Promise<T> => {
    const [k0, o0, s0] = [childrenCpu(), ownCpu(), processCpu(py.pid!)];
    const r = await f();
    into.kids?.push(childrenCpu() - k0);
    into.own?.push(ownCpu() - o0);
    into.server?.push(processCpu(py.pid!) - s0);
    return r;
  };
  for (let i = 0; i < runs; i++) {
    curl.push(
      await metered(() => timed('curl', ['-sf', '-o', join(work, 'curl.out'), pyUrl]), {
        kids: cpu.curl,
        server: cpu.curlServer,
      }),
    );
    openssl.push(
      await metered(() => timed('openssl', ['dgst', '-sha256', join(work, 'curl.out')]), { kids: cpu.openssl }),
    );
    curlSha.push(curl.at(-1)! + timed('sha256sum', [join(work, 'curl.out')]));
    rmSync(join(work, 'curl.out'));
    const pipe = `curl -sf ${pyUrl} | tee ${join(work, 'tee.out')} | openssl dgst -sha256 > /dev/null`;
    tee.push(timed('bash', ['-o', 'pipefail', '-c', pipe]));
    rmSync(join(work, 'tee.out'));
    for (const [k, l] of libraries.entries()) {
      const into = l.open === openLibrary ? { own: cpu.vmlab, server: cpu.vmlabServer } : {};
      pulls[k]!.push(await metered(() => vmlabPull(pyUrl, sha, undefined, l.open), into));
    }
  }
  const pull = pulls.at(-1)!;
  const cores = cpus().length;
  const floor = Math.max(
    median(curl),
    median(openssl),
    (median(cpu.curl) + median(cpu.curlServer) + median(cpu.openssl)) / cores,
  );
  const limit1 = Math.max(median(curl), median(openssl));
  console.log(
    `1. pull+verify, ${mib.toFixed(0)} MiB qcow2, loopback server without ranges (one stream), median of ${runs}`,
  );
  console.log(`  curl alone               ${median(curl).toFixed(2)} s  (${(mib / median(curl)).toFixed(0)} MiB/s)`);
  console.log(`  openssl dgst -sha256     ${median(openssl).toFixed(2)} s  (the hash limit)`);
  console.log(`  curl + sha256sum         ${median(curlSha).toFixed(2)} s`);
  console.log(`  curl | tee | openssl     ${median(tee).toFixed(2)} s  (the raw tools doing the same work)`);
  for (const [k, l] of libraries.entries()) {
    const p = median(pulls[k]!);
    console.log(
      `  ${`${l.label} pull+verify`.padEnd(24)} ${p.toFixed(2)} s  (${ratio(median(tee), p)} curl | tee | openssl; goal 1.0)`,
    );
  }
  console.log(`  (a pull: download + sha256 on a worker + qemu-img inspect + register)`);
  console.log(`  vs curl alone            ${ratio(median(curl), median(pull))}  (goal ≥ 0.9)`);
  console.log(`  vs the limit max(curl, openssl) ${ratio(limit1, median(pull))}`);
  console.log(
    `  CPU s: curl ${median(cpu.curl).toFixed(2)} + server ${median(cpu.curlServer).toFixed(2)}; openssl ${median(cpu.openssl).toFixed(2)}; vmlab ${median(cpu.vmlab).toFixed(2)} + server ${median(cpu.vmlabServer).toFixed(2)}`,
  );
  console.log(
    `  vs the ${cores}-core floor max(curl, openssl, (curl + server + openssl CPU) ÷ ${cores}) = ${floor.toFixed(2)} s: ${ratio(floor, median(pull))}`,
  );
  console.log(`  vs curl + sha256sum      ${ratio(median(curlSha), median(pull))}`);
}

// 2. Segments: throttled per connection, then unthrottled.
if (rows.has(2)) {
  const segMib = statSync(segFile).size / 2 ** 20;
  const curlSlow = timed('curl', ['-sf', '-o', join(work, 'curl.out'), nodeUrl('slow.qcow2')]);
  const segSlow = await pullRun(nodeUrl('slow.qcow2'), segSha, 4);
  const curlFast: number[] = [];
  const seg4: number[] = [];
  const seg1: number[] = [];
  let splitFast = 0;
  for (let i = 0; i < runs; i++) {
    curlFast.push(timed('curl', ['-sf', '-o', join(work, 'curl.out'), nodeUrl('seg.qcow2')]));
    // Alternating which goes first: the first one after curl meets its write-back.
    if (i % 2) seg1.push(await vmlabPull(nodeUrl('seg.qcow2'), segSha, 1));
    const r = await pullRun(nodeUrl('seg.qcow2'), segSha, 4);
    seg4.push(r.s);
    if (r.split) splitFast++;
    if (i % 2 === 0) seg1.push(await vmlabPull(nodeUrl('seg.qcow2'), segSha, 1));
  }
  rmSync(join(work, 'curl.out'), { force: true });
  console.log(
    `2. segmented pull+verify, ${segMib.toFixed(0)} MiB qcow2, loopback server with ranges (node, its own process)`,
  );
  console.log(`  throttled to ${rateMiB} MiB/s per connection:`);
  console.log(`    curl alone             ${curlSlow.toFixed(2)} s  (${(segMib / curlSlow).toFixed(0)} MiB/s)`);
  console.log(
    `    vmlab, 4 connections   ${segSlow.s.toFixed(2)} s  (${(segMib / segSlow.s).toFixed(0)} MiB/s; ${segSlow.split ? 'split after its first second' : 'NOT split'})`,
  );
  console.log(`    vs curl alone          ${ratio(curlSlow, segSlow.s)}  (goal ≥ 2)`);
  console.log(`  unthrottled, median of ${runs}:`);
  console.log(`    curl alone             ${median(curlFast).toFixed(2)} s`);
  console.log(`    vmlab, 1 connection    ${median(seg1).toFixed(2)} s`);
  console.log(
    `    vmlab, 4 connections   ${median(seg4).toFixed(2)} s  (${ratio(median(seg1), median(seg4))} one connection; goal ≥ 1; split in ${splitFast} of ${runs} runs)`,
  );
}

// 3. Local import: one pass (copy + hash together).
if (rows.has(3)) {
  const dgst: number[] = [];
  const imps = libraries.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    cp.push(timed('cp', [file, join(work, 'cp.out')]));
    rmSync(join(work, 'cp.out'));
    dgst.push(timed('openssl', ['dgst', '-sha256', file]));
    for (const [k, l] of libraries.entries()) imps[k]!.push(await vmlabImport(file, l.open));
  }
  const imp = imps.at(-1)!;
  const limit3 = Math.max(median(cp), median(dgst));
  console.log(`3. local import, ${mib.toFixed(0)} MiB qcow2 (in the page cache), median of ${runs}`);
  console.log(`  cp                       ${median(cp).toFixed(2)} s`);
  console.log(`  openssl dgst -sha256     ${median(dgst).toFixed(2)} s`);
  for (const [k, l] of libraries.entries()) {
    console.log(
      `  ${`${l.label} import`.padEnd(24)} ${median(imps[k]!).toFixed(2)} s  (copy + hash in one pass + qemu-img inspect + register)`,
    );
  }
  console.log(`  vs cp                    ${(median(imp) / median(cp)).toFixed(2)} × cp  (goal ≤ 1.1)`);
  console.log(`  vs the limit max(cp, openssl) ${ratio(limit3, median(imp))}`);
}

// 4. Upload through vmlab serve.
if (rows.has(4)) {
  const serveHome = newHome();
  const token = 'bench-token-0123456789abcdef';
  const servePort = portBase + 2;
  const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
  children.push(
    spawn(process.execPath, [cli, 'serve', '--listen', `127.0.0.1:${servePort}`], {
      stdio: 'ignore',
      env: { ...process.env, VMLAB_HOME: serveHome, VMLAB_API_TOKEN: token, NO_COLOR: '1' },
    }),
  );
  for (
    let i = 0;
    i < 100 &&
    spawnSync('curl', [
      '-sf',
      '-o',
      '/dev/null',
      '-H',
      `authorization: Bearer ${token}`,
      `http://127.0.0.1:${servePort}/api/v1/images`,
    ]).status !== 0;
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  const up: number[] = [];
  for (let i = cp.length; i < runs; i++) {
    cp.push(timed('cp', [file, join(work, 'cp.out')]));
    rmSync(join(work, 'cp.out'));
  }
  for (let i = 0; i < runs; i++) {
    up.push(
      timed('curl', [
        '-sf',
        '-o',
        '/dev/null',
        '-H',
        `authorization: Bearer ${token}`,
        '-F',
        `file=@${file}`,
        '-F',
        `name=up${i}`,
        `http://127.0.0.1:${servePort}/api/v1/images/upload`,
      ]),
    );
  }
  const upSha = JSON.parse(
    execFileSync('curl', [
      '-sf',
      '-H',
      `authorization: Bearer ${token}`,
      `http://127.0.0.1:${servePort}/api/v1/images`,
    ]).toString(),
  ) as Array<{ sha256: string }>;
  console.log(`4. upload through vmlab serve (curl -F, loopback), ${mib.toFixed(0)} MiB, median of ${runs}`);
  console.log(`  cp                       ${median(cp).toFixed(2)} s`);
  console.log(
    `  upload (hash on a worker while it streams, then a rename into the library) ${median(up).toFixed(2)} s  (${(median(up) / median(cp)).toFixed(2)} × cp; sha256 ${upSha.every((i) => i.sha256 === sha) ? 'matches' : 'DIFFERS'})`,
  );
  stop();
}

stop();

// 5. Overlays: 50 nodes on a 2 GiB base.
if (rows.has(5)) {
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
  console.log(
    `5. overlays: 50 on a 2 GiB base: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms each (goal ≤ 50 ms); ${(total / 50 / 1024).toFixed(0)} KiB on disk each (goal ≤ 1 MiB)`,
  );
}

rmSync(work, { recursive: true, force: true });
