/**
 * Whole-lab snapshots on a 2-node tiny lab (r1 — r2 over TCP), through the
 * CLI: snapshot time and VM-state size per node, restore of the running
 * lab, restore of the stopped lab (every node starts with -loadvm), and a
 * cold start of the same stopped lab (vmlab start per node) to compare.
 * Then a pre-booted lab (seed 002): a 2-node cloud-init lab deployed cold,
 * exported (`snapshot --export`), destroyed and deployed warm from the
 * file (`deploy --snapshot`). Goal: warm ≤ 0.10 × cold.
 * Prints numbers and ratios; asserts nothing.
 *
 *   node dist/bench/snapshots.js [--image FILE] [--cloud-image FILE] [--runs N] [--no-cloud] [--before DIR]
 *
 * --before DIR runs every row for that checkout too and prints both side by side.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accelFacts } from '../src/host/accel.js';
import { builds, flag, opt, tinyImage } from './args.js';
import { cloudGuestFile } from '../test/helpers/cloudGuest.js';
import { guestCacheDir } from '../test/helpers/guestCache.js';

const image = tinyImage();
const runs = Number(opt('--runs', '2'));
const MEM = 256;
const LAB = 'benchsnap';

if (!existsSync(image)) {
  console.error('no tiny guest found: run `vmlab images build tiny` (or pass --image FILE)');
  process.exit(2);
}

/** Every row for one build of vmlab; the figures the side-by-side table compares. */
async function round(label: string, vmlabBin: string): Promise<Record<string, number>> {
  const fig: Record<string, number> = {};
  const home = mkdtempSync('/tmp/vmlab-bench-');
  const env = { ...process.env, VMLAB_HOME: home, NO_COLOR: '1' };
  const spec = join(home, 'spec');
  mkdirSync(join(spec, 'profiles'), { recursive: true });
  writeFileSync(
    join(spec, 'topology.json'),
    JSON.stringify({
      devices: { r1: {}, r2: {} },
      links: [{ a: 'r1:eth1', z: 'r2:eth1' }],
      vmlab: { name: LAB, link_port_base: 26500, console_port_base: 26510, ssh_port_base: 26520 },
    }),
  );
  writeFileSync(
    join(spec, 'platforms.json'),
    JSON.stringify({
      platforms: {
        tiny: {
          vm_image: image,
          vm_memory: MEM,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
          vm_boot_timeout: 300,
        },
      },
    }),
  );
  for (const x of ['r1', 'r2']) writeFileSync(join(spec, 'profiles', `${x}.json`), '{"platform": "tiny"}\n');

  /** Run the CLI; milliseconds it took (throws on failure). */
  function vmlab(...a: string[]): { ms: number; stdout: string } {
    const t0 = performance.now();
    const r = spawnSync(vmlabBin, a, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`vmlab ${a.join(' ')} failed:\n${r.stderr}`);
    return { ms, stdout: r.stdout };
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

  console.log(
    `bench/snapshots [${label}]: 2 tiny nodes (${MEM} MiB) over TCP, ${accel.toUpperCase()}, median of ${runs} run(s)`,
  );
  const snap: number[] = [];
  const paused: number[] = [];
  const hot: number[] = [];
  const warm: number[] = [];
  const cold: number[] = [];
  let sizes: Record<string, { vm_state_bytes: number; overlay_bytes: number }> = {};
  try {
    const d = vmlab('deploy', '-S', spec);
    console.log(`  deploy (cold boot of both nodes, CLI end to end): ${s(d.ms)}`);
    fig['tiny deploy'] = d.ms;
    for (let i = 0; i < runs; i++) {
      const t = vmlab('snapshot', '--force', '--name', 'b', LAB);
      snap.push(t.ms);
      const rec = (
        JSON.parse(vmlab('snapshot', '--list', '--json', LAB).stdout) as Array<{ took_ms: number; nodes: typeof sizes }>
      )[0]!;
      paused.push(rec.took_ms);
      sizes = rec.nodes;
      hot.push(vmlab('restore', '--name', 'b', LAB).ms);
      for (const n of ['r1', 'r2']) vmlab('stop', '--force', n);
      warm.push(vmlab('restore', '--name', 'b', LAB).ms);
      for (const n of ['r1', 'r2']) vmlab('stop', '--force', n);
      const t0 = performance.now();
      vmlab('start', 'r1');
      vmlab('start', 'r2');
      cold.push(performance.now() - t0);
    }
  } finally {
    spawnSync(vmlabBin, ['destroy', LAB], { env });
  }
  console.log(`  snapshot (CLI end to end): ${s(median(snap))}; lab paused ${s(median(paused))}`);
  Object.assign(fig, { snapshot: median(snap), 'lab paused': median(paused), 'restore, running': median(hot) });
  Object.assign(fig, { 'restore, stopped': median(warm), 'cold start, stopped': median(cold) });
  for (const [n, f] of Object.entries(sizes))
    console.log(`    ${n}: VM state ${mib(f.vm_state_bytes)}, overlay ${mib(f.overlay_bytes)}`);
  console.log(`  restore, lab running (loadvm in place + re-link + clocks): ${s(median(hot))}`);
  console.log(`  restore, lab stopped (both start with -loadvm, SSH ready, clocks): ${s(median(warm))}`);
  console.log(`  cold start of the stopped lab (vmlab start r1, r2; SSH ready): ${s(median(cold))}`);
  console.log(`  cold start / restore of the stopped lab: ${(median(cold) / median(warm)).toFixed(1)}x`);

  // A pre-booted cloud-init lab: cold deploy vs warm deploy from an exported snapshot.
  const cloudImage = opt('--cloud-image', join(guestCacheDir(), cloudGuestFile()));
  if (flag('--no-cloud')) {
    rmSync(home, { recursive: true, force: true });
  } else if (!existsSync(cloudImage)) {
    console.log(
      `  (no cloud image at ${cloudImage}: build it with guest/cloud/build.sh FILE, or run the e2e tests once; cold vs warm skipped)`,
    );
    rmSync(home, { recursive: true, force: true });
  } else {
    const CLOUD = 'benchwarm';
    const cspec = join(home, 'cloud-spec');
    mkdirSync(join(cspec, 'profiles'), { recursive: true });
    writeFileSync(
      join(cspec, 'topology.json'),
      JSON.stringify({
        devices: { c1: {}, c2: {} },
        links: [{ a: 'c1:eth1', z: 'c2:eth1' }],
        vmlab: { name: CLOUD, link_port_base: 26600, console_port_base: 26610, ssh_port_base: 26620 },
      }),
    );
    // Through the library, as users have it: an image known to carry cloud-init gets its NoCloud seed.
    vmlab('images', 'import', cloudImage, '--name', 'bench-cloud', '--os', 'debian-12');
    writeFileSync(
      join(cspec, 'platforms.json'),
      JSON.stringify({
        platforms: {
          cloud: {
            vm_image: 'bench-cloud',
            vm_memory: 1024,
            vm_cpus: 1,
            vm_nic_driver: 'virtio-net-pci',
            vm_interface_map: 'linux',
            vm_boot_timeout: 900,
          },
        },
      }),
    );
    for (const x of ['c1', 'c2']) writeFileSync(join(cspec, 'profiles', `${x}.json`), '{"platform": "cloud"}\n');
    try {
      const coldDeploy = vmlab('deploy', '-S', cspec);
      const exp = vmlab('snapshot', '--name', 'ready', '--export', 'ready', CLOUD);
      const size = /: ([\d.]+ MiB) in/.exec(exp.stdout)?.[1] ?? '?';
      vmlab('destroy', CLOUD);
      const warmDeploy = vmlab('deploy', '-S', cspec, '--snapshot', 'ready');
      const ci = vmlab('ssh', 'c2', '--', 'cloud-init', 'status').stdout.trim();
      console.log(
        `bench/snapshots [${label}]: 2 cloud-init nodes (Debian 12, 1024 MiB) over TCP, ${accel.toUpperCase()}`,
      );
      console.log(`  cold deploy (boot + cloud-init, SSH ready): ${s(coldDeploy.ms)}`);
      console.log(`  snapshot + export (one file, ${size}): ${s(exp.ms)}`);
      console.log(`  warm deploy from the file (-loadvm, SSH ready, clocks set; then "${ci}"): ${s(warmDeploy.ms)}`);
      console.log(`  warm / cold: ${(warmDeploy.ms / coldDeploy.ms).toFixed(3)}x (goal ≤ 0.10x)`);
      Object.assign(fig, {
        'cloud cold deploy': coldDeploy.ms,
        'snapshot + export': exp.ms,
        'warm deploy': warmDeploy.ms,
      });
      // The library's way: one node saved as an image, a lab of two nodes started from it (each given its own identity).
      const cp = vmlab('images', 'checkpoint', `${CLOUD}/c1`, '--name', 'bench-booted');
      vmlab('destroy', CLOUD);
      writeFileSync(
        join(cspec, 'platforms.json'),
        JSON.stringify({
          platforms: {
            cloud: {
              vm_image: 'bench-booted',
              vm_memory: 1024,
              vm_cpus: 1,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_boot_timeout: 900,
            },
          },
        }),
      );
      const fromCp = vmlab('deploy', '-S', cspec);
      const host = vmlab('ssh', 'c2', '--', 'hostname').stdout.trim();
      console.log(`  checkpoint c1 into the library: ${s(cp.ms)}`);
      Object.assign(fig, { checkpoint: cp.ms, 'deploy from checkpoint': fromCp.ms });
      console.log(
        `  deploy of 2 nodes from that checkpoint (identity given, clocks set; c2 says "${host}"): ${s(fromCp.ms)} = ${(fromCp.ms / coldDeploy.ms).toFixed(3)}x cold`,
      );
    } finally {
      spawnSync(vmlabBin, ['destroy', CLOUD], { env });
      rmSync(home, { recursive: true, force: true });
    }
  }
  return fig;
}

const { accel } = await accelFacts({ qemuBinary: 'qemu-system-x86_64', env: process.env });
const results: Array<{ label: string; fig: Record<string, number> }> = [];
for (const b of builds()) results.push({ label: b.label, fig: await round(b.label, b.bin) });
if (results.length > 1) {
  const [before, after] = results as [(typeof results)[0], (typeof results)[0]];
  console.log('\nside by side (s)               before     after  after/before');
  for (const [k, v] of Object.entries(before.fig)) {
    const w = after.fig[k];
    if (w === undefined) continue;
    console.log(
      `  ${k.padEnd(26)}${(v / 1000).toFixed(1).padStart(8)}${(w / 1000).toFixed(1).padStart(10)}${(w / v).toFixed(2).padStart(14)}`,
    );
  }
}
