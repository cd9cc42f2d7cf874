/**
 * What trusting the host costs and how fast failures surface. Prints
 * numbers and ratios; asserts nothing.
 *
 * - the KVM probe, cold and cached, against the raw tool: the same boot
 *   sector run by hand under TCG (`qemu-system-x86_64 -accel tcg`)
 * - a guest crash under KVM → every QEMU of the lab running again under
 *   TCG: with real QEMU where this host's KVM crashes guests
 *   (VMLAB_ACCEL=kvm on a kvm_pvm host), and with the fake QEMU
 * - a guest panic / power-off → the clear error (fake QEMU), against the
 *   boot timeout it replaces
 *
 *   node dist/bench/accel.js [--image FILE]
 */
import { spawnSync, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accelFacts } from '../src/host/accel.js';
import { probeBootSector } from '../src/host/probeSector.js';
import { fakeQemuBinary } from '../test/helpers/fakeQemuBin.js';
import { tinyImage, vmlabBin } from './args.js';

const image = tinyImage();
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

// 1. The probe.
const cache = join(mkdtempSync(join(tmpdir(), 'vmlab-bench-accel-')), 'accel.json');
const [cold, coldMs] = await timed(() =>
  accelFacts({ qemuBinary: 'qemu-system-x86_64', cacheFile: cache, env: { ...process.env, VMLAB_ACCEL: '' } }),
);
const [, cachedMs] = await timed(() =>
  accelFacts({ qemuBinary: 'qemu-system-x86_64', cacheFile: cache, env: { ...process.env, VMLAB_ACCEL: '' } }),
);
const sector = join(tmpdir(), `vmlab-bench-sector-${process.pid}.img`);
writeFileSync(sector, probeBootSector());
truncateSync(sector, 1 << 20);
const t = performance.now();
spawnSync(
  'qemu-system-x86_64',
  [
    '-accel',
    'tcg',
    '-machine',
    'q35',
    '-m',
    '16',
    '-nodefaults',
    '-display',
    'none',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=4',
    '-drive',
    `file=${sector},format=raw,if=ide`,
  ],
  { timeout: 20_000 },
);
const rawTcgMs = performance.now() - t;
rmSync(sector, { force: true });
console.log(
  `probe: verdict ${cold.verdict} (${cold.source}); cold ${ms(coldMs)}, cached ${ms(cachedMs)}; raw TCG run of the same sector ${ms(rawTcgMs)}`,
);
console.log(
  `  cold / raw TCG = ${(coldMs / rawTcgMs).toFixed(1)}x; cached / raw TCG = ${(cachedMs / rawTcgMs).toFixed(3)}x`,
);

// 2 and 3: deploys, through the CLI, with -v so the fallback's own timing line shows.
function spec(dir: string, img: string, ports: number, nodes = 2): string {
  mkdirSync(join(dir, 'spec', 'profiles'), { recursive: true });
  const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const links = names.slice(1).map((n, i) => ({ a: `${names[i]}:eth${i === 0 ? 1 : 2}`, z: `${n}:eth1` }));
  writeFileSync(
    join(dir, 'spec', 'topology.json'),
    JSON.stringify({
      devices: Object.fromEntries(names.map((n) => [n, {}])),
      links,
      vmlab: { name: 'bacc', link_port_base: ports, console_port_base: ports + 10, ssh_port_base: ports + 20 },
    }),
  );
  writeFileSync(
    join(dir, 'spec', 'platforms.json'),
    JSON.stringify({
      platforms: {
        p: {
          vm_image: img,
          vm_memory: 192,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
          vm_boot_timeout: 120,
        },
      },
    }),
  );
  for (const n of names) writeFileSync(join(dir, 'spec', 'profiles', `${n}.json`), '{"platform": "p"}\n');
  return join(dir, 'spec');
}

function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(vmlabBin, argv, {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code: code ?? -1, stderr, ms: performance.now() - t0 }));
  });
}

async function fallback(label: string, img: string, env: NodeJS.ProcessEnv, ports: number): Promise<void> {
  const home = mkdtempSync('/tmp/vmlab-bench-');
  const s = spec(home, img, ports);
  const r = await cli(['-v', 'deploy', '-S', s], { VMLAB_HOME: home, XDG_CACHE_HOME: join(home, 'cache'), ...env });
  const crash = /KVM crashed \S+ ([\d.]+) s into its boot/.exec(r.stderr);
  const up = /under TCG: every QEMU up (\d+) ms after the crash was seen/.exec(r.stderr);
  if (r.code !== 0 || !crash || !up)
    console.log(`${label}: no fallback happened (exit ${r.code}); this host's KVM may work`);
  else
    console.log(
      `${label}: crash seen ${crash[1]} s into the KVM boot; every QEMU up under TCG ${up[1]} ms later; lab ready after ${ms(r.ms)} in all`,
    );
  await cli(['destroy'], { VMLAB_HOME: home });
  rmSync(home, { recursive: true, force: true });
}

const fake = fakeQemuBinary();
const blankDir = mkdtempSync(join(tmpdir(), 'vmlab-bench-img-'));
const blank = join(blankDir, 'blank.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '16M']);
const kvmFile = join(blankDir, 'kvm');
writeFileSync(kvmFile, '');
const fakeEnv = { VMLAB_QEMU: fake, VMLAB_KVM_DEVICE: kvmFile, VMLAB_ACCEL: '' };

await fallback(
  'fallback, fake QEMU (crash 300 ms in)',
  blank,
  { ...fakeEnv, FAKE_KVM: 'run', FAKE_PROBE: 'pass', FAKE_CRASH_MS: '300' },
  28000,
);
if (existsSync('/dev/kvm') && existsSync(image))
  await fallback('fallback, real QEMU + tiny guests (VMLAB_ACCEL=kvm)', image, { VMLAB_ACCEL: 'kvm' }, 28100);

for (const guest of ['panic', 'poweroff']) {
  const home = mkdtempSync('/tmp/vmlab-bench-');
  const s = spec(home, blank, 28200);
  const r = await cli(['deploy', '-S', s], {
    VMLAB_HOME: home,
    ...fakeEnv,
    FAKE_KVM: 'reset',
    FAKE_GUEST: guest,
    FAKE_BOOT_MS: '600',
    XDG_CACHE_HOME: join(home, 'cache'),
  });
  const at = /([\d.]+) s into its boot/.exec(r.stderr)?.[1] ?? '?';
  console.log(
    `guest ${guest} at ${at} s: clear error, exit ${r.code}, after ${ms(r.ms)} (the boot timeout it replaces: 120 000 ms → ${(r.ms / 120_000).toFixed(3)}x)`,
  );
  rmSync(home, { recursive: true, force: true });
}
rmSync(blankDir, { recursive: true, force: true });
