/**
 * Scale on one host: rings of 1, 4, 8, 16 and 32 tiny guests (128 MiB,
 * TCG here) deployed with `vmlab deploy` (default --max-parallel). For each:
 * time to all-ready (a session runs on every node), CPU seconds per node
 * to get there, RSS (and PSS: shared pages split) per node, and idle CPU
 * per node once the lab has sat for a minute (the first minute still holds
 * the tail of boot: late services, DHCP, the readiness sessions). Each figure is also printed divided by
 * the 1-node figure. Goals (issue 13): time grows no faster than CPU work
 * ÷ cores; RSS per node ≤ guest RAM + 64 MiB; idle CPU per node < 1 %.
 * Asserts nothing. Ports 33000-33299.
 *
 *   node dist/bench/scale.js [--nodes 1,4,8] [--settle 60] [--idle 60] [--image FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { hostCapacity } from '../src/host/hostCapacity.js';
import { ringSpec } from '../test/helpers/ringSpec.js';
import { writeSpecDir } from '../test/helpers/specDir.js';
import { opt, tinyImage, vmlabBin } from './args.js';

const image = tinyImage();
const counts = opt('--nodes', '1,4,8,16,32').split(',').map(Number);
const settleS = Number(opt('--settle', '60'));
const idleS = Number(opt('--idle', '60'));
const GUEST_MB = 128;

if (!existsSync(image)) {
  console.error('no tiny guest found: run `vmlab images build tiny` (or pass --image FILE)');
  process.exit(2);
}

interface NodeCost {
  pid: number;
  rss_bytes: number;
  cpu_seconds: number;
}

const pss = (pid: number) =>
  Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;

interface Row {
  n: number;
  readyS: number;
  cpuPerNode: number;
  rssMb: number;
  pssMb: number;
  idlePct: number;
}

function measure(n: number): Row {
  const home = mkdtempSync('/tmp/vmlab-bench-');
  const env = { ...process.env, VMLAB_HOME: home, NO_COLOR: '1' };
  const name = `scale${n}`;
  const dir = writeSpecDir(ringSpec(n, image, name, 33000), name);
  try {
    const t0 = performance.now();
    const r = spawnSync(vmlabBin, ['deploy', '-S', dir], { env, encoding: 'utf8' });
    const readyS = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`vmlab deploy of ${n} node(s) failed:\n${r.stderr}`);
    const costs = (): NodeCost[] =>
      JSON.parse(spawnSync(vmlabBin, ['status', '--json', name], { env, encoding: 'utf8' }).stdout).nodes;
    const atReady = costs();
    const pssMb = atReady.reduce((s, c) => s + pss(c.pid), 0) / n / 2 ** 20;
    spawnSync('sleep', [String(settleS)]);
    const settled = costs();
    spawnSync('sleep', [String(idleS)]);
    const later = costs();
    const idleCpu = later.reduce((s, c, i) => s + c.cpu_seconds - settled[i]!.cpu_seconds, 0) / n;
    return {
      n,
      readyS,
      cpuPerNode: atReady.reduce((s, c) => s + c.cpu_seconds, 0) / n,
      rssMb: later.reduce((s, c) => s + c.rss_bytes, 0) / n / 2 ** 20,
      pssMb,
      idlePct: (idleCpu / idleS) * 100,
    };
  } finally {
    spawnSync(vmlabBin, ['destroy', '--force', name], { env });
    rmSync(home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const cores = availableParallelism();
const host = hostCapacity();
console.log(
  `host: ${cores} cores, load ${host.load.join(' ')} at start, ${host.mem_available_mb} MiB available, KSM ${host.ksm?.run === 1 ? 'on' : 'off'}; guest ${GUEST_MB} MiB; idle measured over ${idleS} s after ${settleS} s`,
);
const x = (v: number, base: number) => `${(v / base).toFixed(2)}×`;
const pad = (s: string, w: number) => s.padStart(w);
console.log(
  [
    'nodes',
    'ready s',
    '(×1)',
    'work÷cores ×1',
    'CPU s/node',
    '(×1)',
    'RSS MiB/node',
    '(×1)',
    'PSS MiB/node',
    'idle CPU %/node',
    '(×1)',
  ]
    .map((h, i) => pad(h, i ? 14 : 5))
    .join(' '),
);
// Each row as soon as it is measured (a long run stopped early keeps what it had); ratios against the first (1-node) row.
let one: Row | undefined;
for (const n of counts) {
  const r = measure(n);
  one ??= r;
  // What "time grows no faster than CPU work ÷ cores" allows: total CPU work over the cores it can use, relative to 1 node.
  const workRatio = (r.n * r.cpuPerNode) / Math.min(r.n, cores) / one.cpuPerNode;
  console.log(
    [
      pad(String(r.n), 5),
      r.readyS.toFixed(1),
      x(r.readyS, one.readyS),
      `${workRatio.toFixed(2)}×`,
      r.cpuPerNode.toFixed(1),
      x(r.cpuPerNode, one.cpuPerNode),
      r.rssMb.toFixed(0),
      x(r.rssMb, one.rssMb),
      r.pssMb.toFixed(0),
      r.idlePct.toFixed(2),
      x(r.idlePct, one.idlePct),
    ]
      .map((s, i) => (i ? pad(s, 14) : s))
      .join(' '),
  );
}
console.log(`goals: ready ×1 ≤ work÷cores ×1; RSS/node ≤ ${GUEST_MB + 64} MiB; idle CPU/node < 1 %`);
