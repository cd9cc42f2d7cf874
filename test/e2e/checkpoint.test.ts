import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { run } from '../../src/host/subprocess.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { tinyGuest } from '../helpers/tinyGuest.js';

/**
 * Library checkpoints on real QEMU (TCG): a booted tiny guest is saved as
 * a library image, then two nodes of a new lab start from it and are each
 * given their own identity: hostname, data-NIC MAC, host key and the new
 * lab's key. The RAM they started from (a file in the initramfs root) is
 * there; the link between them carries traffic; their clocks are now.
 * Ports 22000-22299 (below the ephemeral range, where a client socket could hold one).
 */
const PORTS = 22000;

interface NodeState {
  nics: Array<{ index: number; mac: string }>;
}

/** With console_tcp the console answers on 127.0.0.1:port as before the unix sockets: a login prompt (or a shell). */
async function assertTcpConsole(port: number): Promise<void> {
  const c = createConnection({ host: '127.0.0.1', port });
  let seen = '';
  c.on('data', (d: Buffer) => (seen += d.toString()));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  c.write('\n');
  for (let i = 0; i < 100 && !/login:|# /.test(seen); i++) await new Promise((r) => setTimeout(r, 100));
  c.destroy();
  assert.match(seen, /login:|# /, `the TCP console on ${port}`);
}

describe('library checkpoints', { concurrency: false }, () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home };
  const tiny = (memory: number) => ({
    vm_image: 'tiny-booted',
    vm_memory: memory,
    vm_cpus: 1,
    vm_nic_driver: 'virtio-net-pci',
    vm_interface_map: 'linux',
    vm_credentials: { user: 'root', pass: 'vmlab' },
    vm_boot_timeout: 180,
  });
  const specOf = (
    name: string,
    base: number,
    devices: Record<string, unknown>,
    platform: Record<string, unknown>,
    settings: Record<string, unknown> = {},
  ) =>
    writeSpecDir(
      {
        topology: {
          devices,
          vmlab: { name, link_port_base: base, console_port_base: base + 10, ssh_port_base: base + 20, ...settings },
        },
        platforms: { platforms: { tiny: platform } },
        profiles: Object.fromEntries(Object.keys(devices).map((d) => [d, { platform: 'tiny' }])),
      },
      name,
    );
  /** Nodes are unique across the labs here: each one's lab is known. */
  const labOf = (node: string) => ({ s: 'cksrc', w: 'ckwarm' })[node[0] as 's' | 'w'];
  const sh = (node: string, script: string) =>
    vmlab(['--lab', labOf(node), 'ssh', node, '--', 'sh', '-c', script], env, 60_000);
  const ok = async (node: string, script: string) => {
    const r = await sh(node, script);
    assert.equal(r.code, 0, `${node}: ${script}\n${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };

  before(async () => {
    const imp = await vmlab(['images', 'import', await tinyGuest(), '--name', 'tiny'], env);
    assert.equal(imp.code, 0, imp.stderr);
  });
  after(async () => {
    for (const lab of ['cksrc', 'ckwarm', 'ckbad']) await vmlab(['destroy', '--force', lab], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('saves a running node as a library image', { timeout: 300_000 }, async () => {
    // The source lab opts in to a TCP console (the warm nodes below have the default unix socket).
    const src = specOf(
      'cksrc',
      PORTS,
      { src1: { interfaces: { eth1: {} } } },
      { ...tiny(128), vm_image: 'tiny' },
      { console_tcp: true },
    );
    const d = await vmlab(['deploy', '-S', src], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(
      d.stderr,
      /vmlab\.console_tcp is on: each serial console listens on TCP 127\.0\.0\.1:<console_port> without a password/,
    );
    await assertTcpConsole(PORTS + 10);
    assert.equal(existsSync(join(home, 'labs', 'cksrc', 'qemu', 'src1.console')), false);
    await ok('src1', 'echo saved-in-ram > /root/marker');

    const bad = await vmlab(['images', 'checkpoint', 'cksrc/nosuch', '--name', 'x'], env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /nosuch/);

    const r = await vmlab(['images', 'checkpoint', 'cksrc/src1', '--name', 'tiny-booted'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /checkpoint tiny-booted: cksrc\/src1 saved/);
    const list = JSON.parse((await vmlab(['images', 'list', '--json'], env)).stdout) as Array<{
      name: string;
      source_type: string;
      source: string;
      checkpoint: string | null;
      path: string;
    }>;
    const cp = list.find((i) => i.name === 'tiny-booted')!;
    assert.equal(cp.source_type, 'checkpoint');
    assert.equal(cp.source, 'cksrc/src1');
    const facts = JSON.parse(cp.checkpoint!) as {
      saved: { memory_mb: number; accel: string; nics: unknown[] };
      base: { name: string };
    };
    assert.equal(facts.saved.memory_mb, 128);
    assert.equal(facts.saved.nics.length, 2);
    assert.equal(facts.base.name, 'tiny');
    assert.equal(statSync(cp.path).mode & 0o777, 0o600);
    assert.equal(statSync(cp.path.replace(/\.qcow2$/, '.key')).mode & 0o777, 0o600);
    // One snapshot in the file, with RAM; the live node kept none and still runs.
    const info = JSON.parse((await run(['qemu-img', 'info', '--output=json', cp.path])).stdout) as {
      snapshots: Array<{ name: string; 'vm-state-size': number }>;
      'backing-filename': string;
    };
    assert.deepEqual(
      info.snapshots.map((s) => s.name),
      ['vmlab-checkpoint'],
    );
    assert.ok(info.snapshots[0]!['vm-state-size'] > 0);
    assert.equal(info['backing-filename'], 'tiny.qcow2');
    const live = JSON.parse(
      (await run(['qemu-img', 'info', '-U', '--output=json', join(home, 'labs', 'cksrc', 'disks', 'src1.qcow2')]))
        .stdout,
    ) as { snapshots?: unknown[] };
    assert.equal(live.snapshots?.length ?? 0, 0);
    assert.equal(await ok('src1', 'cat /root/marker'), 'saved-in-ram');

    const taken = await vmlab(['images', 'checkpoint', 'cksrc/src1', '--name', 'tiny-booted'], env);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /already has an image "tiny-booted"/);
  });

  it('refuses a node whose devices differ from the checkpoint, before anything starts', {
    timeout: 120_000,
  }, async () => {
    const spec = specOf('ckbad', PORTS + 100, { b1: { interfaces: { eth1: {} } } }, tiny(256));
    const r = await vmlab(['deploy', '-S', spec], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /b1 \(checkpoint "tiny-booted"\) memory: expected 128 MiB, got 256 MiB/);
    assert.equal(findQemusUnder(join(home, 'labs', 'ckbad')).length, 0);
  });

  it('two nodes start warm from it, each with its own identity, and talk over their link', {
    timeout: 300_000,
  }, async () => {
    const spec = specOf(
      'ckwarm',
      PORTS + 200,
      { w1: { interfaces: { eth1: { link: 'w2:eth1' } } }, w2: {} },
      tiny(128),
    );
    const d = await vmlab(['deploy', '-S', spec], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout + d.stderr, /2 warm from checkpoints/);

    const state = JSON.parse(readFileSync(join(home, 'labs', 'ckwarm', 'state.json'), 'utf8')) as {
      plan: { nodes: Array<{ name: string } & NodeState> };
    };
    const planned = (node: string) =>
      state.plan.nodes.find((n) => n.name === node)!.nics.find((n) => n.index === 1)!.mac;
    for (const node of ['w1', 'w2']) {
      assert.equal(await ok(node, 'hostname'), node);
      assert.equal(await ok(node, 'cat /root/marker'), 'saved-in-ram', `${node} started from the saved RAM`);
      assert.equal(await ok(node, 'cat /sys/class/net/eth1/address'), planned(node));
      const skew = Number(await ok(node, 'date +%s')) - Date.now() / 1000;
      assert.ok(Math.abs(skew) < 10, `${node} clock is ${skew.toFixed(1)} s off`);
    }
    assert.notEqual(planned('w1'), planned('w2'));

    await ok('w1', 'ip addr add 10.8.0.1/30 dev eth1 && ip link set eth1 up');
    await ok('w2', 'ip addr add 10.8.0.2/30 dev eth1 && ip link set eth1 up');
    const p = await sh('w1', 'ping -c 1 -W 3 -I eth1 10.8.0.2 || ping -c 1 -W 3 -I eth1 10.8.0.2');
    assert.equal(p.code, 0, p.stdout + p.stderr);

    // The checkpoint's key (the source lab's) no longer opens the node; the host key is the new lab's.
    const w1 = state.plan.nodes.find((n) => n.name === 'w1') as unknown as { sshPort: number };
    const oldKey = join(home, 'images', 'tiny-booted.key');
    const old = await run(
      [
        'ssh',
        '-i',
        oldKey,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'PasswordAuthentication=no',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-p',
        String(w1.sshPort),
        'root@127.0.0.1',
        'true',
      ],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(old.exitCode, 0);
    const scan = await run(['ssh-keyscan', '-t', 'ed25519', '-p', String(w1.sshPort), '127.0.0.1'], {
      timeoutMs: 30_000,
    });
    const hostPub = readFileSync(join(home, 'labs', 'ckwarm', 'keys', 'w1_host_ed25519.pub'), 'utf8').split(' ')[1]!;
    assert.ok(scan.stdout.includes(hostPub), `w1 serves its own host key:\n${scan.stdout}`);
  });

  it('the base and the checkpoint are kept while something needs them', { timeout: 120_000 }, async () => {
    assert.equal((await vmlab(['destroy', 'cksrc'], env)).code, 0);
    const base = await vmlab(['images', 'rm', 'tiny'], env);
    assert.equal(base.code, 1);
    assert.match(base.stderr, /holds the disks of checkpoint\(s\) tiny-booted/);
    const used = await vmlab(['images', 'rm', 'tiny-booted'], env);
    assert.equal(used.code, 1);
    assert.match(used.stderr, /used by lab\(s\) ckwarm/);
    assert.equal((await vmlab(['destroy', 'ckwarm'], env)).code, 0);
    assert.equal((await vmlab(['images', 'rm', 'tiny-booted'], env)).code, 0);
    assert.equal(existsSync(join(home, 'images', 'tiny-booted.key')), false);
    assert.equal((await vmlab(['images', 'rm', 'tiny'], env)).code, 0);
  });
});
