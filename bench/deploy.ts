/**
 * Time to all-ready (SSH banner on every node) for 1, 2 and 4 tiny nodes:
 * `vmlab deploy` (the CLI, end to end) against the same VMs started by hand
 * with raw qemu-system + qemu-img. Prints ratios; asserts nothing.
 *
 *   node dist/bench/deploy.js [--image FILE] [--runs N] [--before DIR]
 *
 * --before DIR also times that checkout's vmlab in the same run, a column beside this one's.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForSsh } from '../src/lab/node/readiness.js';
import { accelFacts } from '../src/host/accel.js';
import { builds, opt, tinyImage } from './args.js';

const image = tinyImage();
const runs = Number(opt('--runs', '2'));
const MEM = 192;

if (!existsSync(image)) {
  console.error('no tiny guest found: run `vmlab images build tiny` (or pass --image FILE)');
  process.exit(2);
}

function specFor(n: number, dir: string): void {
  const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const links = names.slice(1).map((nm, i) => ({ a: `${names[i]}:eth${i === 0 ? 1 : 2}`, z: `${nm}:eth1` }));
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  writeFileSync(
    join(dir, 'topology.json'),
    JSON.stringify({
      devices: Object.fromEntries(names.map((x) => [x, {}])),
      links,
      vmlab: { name: `bench${n}`, link_port_base: 26000, console_port_base: 26100, ssh_port_base: 26200 },
    }),
  );
  writeFileSync(
    join(dir, 'platforms.json'),
    JSON.stringify({
      platforms: {
        tiny: {
          vm_image: image,
          vm_memory: MEM,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
        },
      },
    }),
  );
  for (const x of names) writeFileSync(join(dir, 'profiles', `${x}.json`), '{"platform": "tiny"}\n');
}

async function viaVmlab(n: number, vmlabBin: string): Promise<number> {
  const home = mkdtempSync('/tmp/vmlab-bench-');
  const dir = join(home, 'spec');
  specFor(n, dir);
  const env = { ...process.env, VMLAB_HOME: home };
  const t0 = performance.now();
  const r = spawnSync(vmlabBin, ['deploy', '-S', dir], { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  spawnSync(vmlabBin, ['destroy', `bench${n}`], { env });
  rmSync(home, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`vmlab deploy failed: ${r.stderr}`);
  return ms;
}

/** The same VMs by hand: overlay, user net with SSH forward, same links, nothing else. */
async function byHand(n: number, accel: string): Promise<number> {
  const dir = mkdtempSync('/tmp/vmlab-raw-');
  const t0 = performance.now();
  const procs = [];
  for (let i = 0; i < n; i++) {
    const overlay = join(dir, `n${i}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', overlay]);
    const nic = (id: string, extra: string) => [
      '-netdev',
      `${extra},id=${id}`,
      '-device',
      `virtio-net-pci,netdev=${id}`,
    ];
    const link: string[] = [];
    if (i > 0) link.push(...nic('l0', `socket,connect=127.0.0.1:${27000 + i - 1}`));
    if (i < n - 1) link.push(...nic('l1', `socket,listen=127.0.0.1:${27000 + i}`));
    const argv = [
      '-machine',
      `q35,accel=${accel}`,
      '-cpu',
      accel === 'kvm' ? 'host' : 'max',
      '-m',
      String(MEM),
      '-smp',
      '1',
      '-nodefaults',
      '-display',
      'none',
      '-drive',
      `file=${overlay},if=virtio,format=qcow2`,
      ...nic('mgmt', `user,hostfwd=tcp:127.0.0.1:${27100 + i}-:22`),
      ...link,
      '-serial',
      'null',
    ];
    procs.push(spawn('qemu-system-x86_64', argv, { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 50)); // listener up before the next connects
  }
  await Promise.all(procs.map((p, i) => waitForSsh(27100 + i, 300_000, () => p.exitCode === null)));
  const ms = performance.now() - t0;
  for (const p of procs) p.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const { accel } = await accelFacts({ qemuBinary: 'qemu-system-x86_64', env: process.env });
console.log(`bench/deploy: tiny guest ${image}, ${accel.toUpperCase()}, ${MEM} MiB/node, median of ${runs} run(s)`);
const cols = builds();
const head =
  cols.map((c) => `${c.label} (s)`.padStart(12)).join('') + cols.map((c) => `${c.label}/raw`.padStart(12)).join('');
console.log(`nodes  raw qemu (s)${head}`);
for (const n of [1, 2, 4]) {
  const raw: number[] = [];
  const vm: number[][] = cols.map(() => []);
  for (let r = 0; r < runs; r++) {
    raw.push(await byHand(n, accel));
    for (const [i, c] of cols.entries()) vm[i]!.push(await viaVmlab(n, c.bin));
  }
  const a = median(raw) / 1000;
  const b = vm.map((xs) => median(xs) / 1000);
  const secs = b.map((x) => x.toFixed(2).padStart(12)).join('');
  const ratios = b.map((x) => (x / a).toFixed(3).padStart(12)).join('');
  console.log(`${String(n).padStart(5)}  ${a.toFixed(2).padStart(12)}${secs}${ratios}`);
}
