/**
 * Time to all-ready for 4 tiny nodes (a chain n1─n2─n3─n4): one host
 * (`vmlab deploy`) against two hosts, 2 + 2 nodes in two network
 * namespaces joined by a veth pair (`vmlab deploy --host a` and `--host b`
 * at once, each with its own VMLAB_HOME), n2─n3 crossing between them.
 * Goal: two/one ≤ 1.1 (no cross-host penalty beyond the network). Needs
 * root (ip netns). Prints times and the ratio; asserts nothing.
 *
 *   node dist/bench/multihost.js [--image FILE] [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accelFacts } from '../src/host/accel.js';
import { opt, tinyImage, vmlabBin } from './args.js';
import { makeHostPair, vmlabIn, type HostPair } from '../test/helpers/netns.js';
import { runCli } from '../test/helpers/cli.js';

const image = tinyImage();
const runs = Number(opt('--runs', '1'));
const NAMES = ['n1', 'n2', 'n3', 'n4'];
const BASE = 31300;

if (!existsSync(image)) {
  console.error('no tiny guest found: run `vmlab images build tiny` (or pass --image FILE)');
  process.exit(2);
}

/** The same lab either way; `hosts` places n1, n2 on a and n3, n4 on b. */
function specFor(dir: string, hosts?: HostPair): void {
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  const links = [
    { a: 'n1:eth1', z: 'n2:eth1' },
    { a: 'n2:eth2', z: 'n3:eth1' },
    { a: 'n3:eth2', z: 'n4:eth1' },
  ];
  const vmlab = {
    name: 'benchmh',
    link_port_base: BASE,
    console_port_base: BASE + 100,
    ssh_port_base: BASE + 200,
    ...(hosts ? { hosts: { a: hosts.addresses[0], b: hosts.addresses[1] } } : {}),
  };
  writeFileSync(
    join(dir, 'topology.json'),
    JSON.stringify({ devices: Object.fromEntries(NAMES.map((n) => [n, {}])), links, vmlab }),
  );
  writeFileSync(
    join(dir, 'platforms.json'),
    JSON.stringify({
      platforms: {
        tiny: {
          vm_image: image,
          vm_memory: 192,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
          vm_boot_timeout: 900,
        },
      },
    }),
  );
  for (const [i, n] of NAMES.entries()) {
    const profile = { platform: 'tiny', ...(hosts ? { vm_host: i < 2 ? 'a' : 'b' } : {}) };
    writeFileSync(join(dir, 'profiles', `${n}.json`), JSON.stringify(profile) + '\n');
  }
}

async function oneHost(): Promise<number> {
  const home = mkdtempSync('/tmp/vmlab-bench-');
  specFor(join(home, 'spec'));
  const env = { VMLAB_HOME: home };
  const t0 = performance.now();
  const r = await runCli([vmlabBin, 'deploy', '-S', join(home, 'spec')], env);
  const ms = performance.now() - t0;
  spawnSync(vmlabBin, ['destroy', 'benchmh'], { env: { ...process.env, ...env } });
  rmSync(home, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`vmlab deploy failed: ${r.stderr}`);
  return ms;
}

async function twoHosts(): Promise<number> {
  const hosts = makeHostPair('10.232.0');
  const spec = mkdtempSync('/tmp/vmlab-bench-spec-');
  const homes = [mkdtempSync('/tmp/vmlab-bench-'), mkdtempSync('/tmp/vmlab-bench-')] as const;
  try {
    specFor(spec, hosts);
    const t0 = performance.now();
    const rs = await Promise.all(
      ['a', 'b'].map((h, i) => vmlabIn(hosts.names[i]!, ['deploy', '-S', spec, '--host', h], { VMLAB_HOME: homes[i] })),
    );
    const ms = performance.now() - t0;
    rs.forEach((r, i) => {
      if (r.code !== 0) throw new Error(`vmlab deploy --host ${'ab'[i]} failed: ${r.stderr}`);
    });
    return ms;
  } finally {
    for (const [i, home] of homes.entries()) {
      await vmlabIn(hosts.names[i]!, ['destroy', 'benchmh'], { VMLAB_HOME: home });
      rmSync(home, { recursive: true, force: true });
    }
    rmSync(spec, { recursive: true, force: true });
    hosts.remove();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const { accel } = await accelFacts({ qemuBinary: 'qemu-system-x86_64', env: process.env });
console.log(
  `bench/multihost: 4 tiny nodes, ${accel.toUpperCase()}, median of ${runs} run(s); both hosts share this machine's CPUs`,
);
const one: number[] = [];
const two: number[] = [];
for (let r = 0; r < runs; r++) {
  // Alternate the order so neither side always runs on a warmer page cache.
  if (r % 2 === 0) {
    one.push(await oneHost());
    two.push(await twoHosts());
  } else {
    two.push(await twoHosts());
    one.push(await oneHost());
  }
}
const s = (ms: number) => (ms / 1000).toFixed(1);
console.log('layout                       time to ready (s)');
console.log(`4 nodes on one host          ${s(median(one))}`);
console.log(`2 + 2 on two hosts (netns)   ${s(median(two))}`);
console.log(`ratio two/one                ${(median(two) / median(one)).toFixed(2)}   (goal ≤ 1.10)`);
