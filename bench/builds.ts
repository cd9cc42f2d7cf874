/**
 * vrnetlab builds against the raw tools, printed as ratios (asserts nothing):
 *  1. vmlab's build job (prechecks, copy into the device dir, make, tag
 *     parse, docker image inspect, library record) vs. what a user does by
 *     hand on the same disk: `cp` it into the device dir, `make docker-image`,
 *     `rm` it. Median of N alternating runs; the image is removed between
 *     runs so neither side hits Docker's build cache.
 *  2. the disk copy: method (reflink / hard link / copy) and bytes copied,
 *     against the full copy a writing family (vEOS) gets.
 * Runs its own dockerd (test/helpers/dockerd) and a vrnetlab-shaped checkout.
 *
 *   node dist/bench/builds.js [--size-mib 128] [--runs 3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { copyIn } from '../src/host/copyIn.js';
import { createServices } from '../src/service/index.js';
import { importBaseImage, startDockerd } from '../test/helpers/dockerd.js';
import { FIXTURE_BASE_IMAGE, writeVrnetlabFixture } from '../test/helpers/vrnetlabFixture.js';
import { loadSettings } from '../src/host/settings.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => Number(args[args.indexOf(name) + 1] ?? '') || dflt;
const sizeMiB = opt('--size-mib', 128);
const runs = opt('--runs', 3);
const FILE = 'vJunos-router-23.2R1.15.qcow2';
const TAG = 'vrnetlab/juniper_vjunos-router:23.2R1.15';

const { dockerd, why } = await startDockerd();
if (!dockerd) {
  console.log(`bench/builds: skipped: ${why}`);
  process.exit(0);
}
const work = mkdtempSync('/tmp/vmlab-bench-bld-');
try {
  await importBaseImage(dockerd, FIXTURE_BASE_IMAGE);
  const { root, deviceDir } = writeVrnetlabFixture(join(work, 'vrnetlab'));
  const src = join(work, FILE);
  // Preallocated: the disk has real bytes, so a copy costs what it costs.
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=full', src, `${sizeMiB}M`]);
  const size = statSync(src).size;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VMLAB_HOME: join(work, 'home'),
    VRNETLAB_PATH: root,
    DOCKER_HOST: dockerd.host,
    DOCKER_BUILDKIT: '0',
    VMLAB_AUTO_BUILD: 'false',
  };
  mkdirSync(env.VMLAB_HOME!, { recursive: true });
  const services = createServices(loadSettings(env));
  const img = await services.images.import(src, {});
  const rmi = () => spawnSync('docker', ['image', 'rm', '-f', TAG], { env, stdio: 'ignore' });
  const secs = (t0: number) => (performance.now() - t0) / 1000;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  const byHand = () => {
    rmi();
    const t0 = performance.now();
    copyFileSync(src, join(deviceDir, FILE));
    const r = spawnSync('make', ['docker-image'], { cwd: deviceDir, env, stdio: 'ignore' });
    rmSync(join(deviceDir, FILE), { force: true });
    if (r.status !== 0) throw new Error(`make docker-image by hand failed (exit ${r.status})`);
    return secs(t0);
  };
  let lastDetail: Record<string, unknown> = {};
  const withVmlab = async () => {
    rmi();
    const t0 = performance.now();
    const { job, done } = await services.builds.startBuild(img.id);
    await done;
    const t = secs(t0);
    lastDetail = JSON.parse(services.jobs.get(job.id).detail) as Record<string, unknown>;
    return t;
  };

  await withVmlab(); // warm-up: page cache, docker's base image layers
  const hand: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < runs; i++) {
    hand.push(byHand());
    ours.push(await withVmlab());
  }
  const h = median(hand);
  const v = median(ours);
  console.log(`disk: ${FILE}, ${(size / 2 ** 20).toFixed(0)} MiB on disk; ${runs} runs each, medians`);
  console.log(
    `  by hand (cp + make docker-image + rm): ${h.toFixed(2)} s   [${hand.map((x) => x.toFixed(2)).join(', ')}]`,
  );
  console.log(
    `  vmlab build job:                       ${v.toFixed(2)} s   [${ours.map((x) => x.toFixed(2)).join(', ')}]`,
  );
  console.log(`  ratio vmlab / by hand:                 ${(v / h).toFixed(3)}×  (goal ≤ 1.05×)`);
  console.log(
    `  vmlab's disk copy: ${String(lastDetail.copy)}, ${String(lastDetail.bytes_copied)} bytes copied (of ${size})`,
  );

  // The copy alone, each way, on this file system.
  const probe = join(deviceDir, 'probe.qcow2');
  for (const allowHardLink of [true, false]) {
    const t0 = performance.now();
    const c = copyIn(src, probe, { allowHardLink });
    const t = secs(t0);
    rmSync(probe, { force: true });
    console.log(
      `  copyIn(allowHardLink=${allowHardLink}): ${c.method}, ${c.bytesCopied} bytes, ${(t * 1000).toFixed(1)} ms`,
    );
  }
  rmi();
} finally {
  await dockerd.stop();
  rmSync(work, { recursive: true, force: true });
}
