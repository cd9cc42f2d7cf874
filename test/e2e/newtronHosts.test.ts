import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { repoRoot, tempHome, vmlab } from '../helpers/cli.js';
import { assertGolden } from '../helpers/golden.js';
import { tinyGuest } from '../helpers/tinyGuest.js';

const PORTS = 30300;
const fixtures = join(repoRoot, 'test', 'fixtures');

/**
 * newtron's 2node-vs as written (2 switches, 6 hosts with "device_type":
 * "host" wired on eth0), only its images pointed at the tiny guest (so the
 * switches log in as root), memory shrunk and ports moved: 8 VMs under TCG,
 * one deploy shared by every assertion. host1 pings switch1 across switch1:Ethernet4 — host1:eth0
 * (Ethernet4 is NIC 5 under sonic-vs's sequential map: the switch guest's eth5).
 */
describe("newtron's 2node-vs with host devices", { concurrency: false }, () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home };
  const specRoot = mkdtempSync('/tmp/vmlab-nh-');
  const dir = join(specRoot, '2node-vs');
  const labDir = join(home, 'labs', '2node-vs');
  const ssh = (node: string, cmd: string) => vmlab(['ssh', node, '--', 'sh', '-c', cmd], env, 60_000);
  let profileBefore = '';

  before(async () => {
    const image = await tinyGuest();
    cpSync(join(fixtures, 'newtron-specs', '2node-vs'), dir, { recursive: true });
    const platforms = JSON.parse(readFileSync(join(dir, 'platforms.json'), 'utf8'));
    for (const [name, p] of Object.entries<Record<string, unknown>>(platforms.platforms)) {
      Object.assign(p, {
        vm_image: image,
        vm_memory: name === 'alpine-host' ? 128 : 192,
        vm_cpus: 1,
        vm_boot_timeout: 240,
      });
    }
    writeFileSync(join(dir, 'platforms.json'), JSON.stringify(platforms, null, 2));
    // The tiny guest has root only (by the lab key); the hosts' profiles say root already.
    for (const sw of ['switch1', 'switch2']) {
      const file = join(dir, 'profiles', `${sw}.json`);
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ssh_user: 'root' }, null, 4));
    }
    const topology = JSON.parse(readFileSync(join(dir, 'topology.json'), 'utf8'));
    topology.newtlab = { link_port_base: PORTS, console_port_base: PORTS + 100, ssh_port_base: PORTS + 200 };
    writeFileSync(join(dir, 'topology.json'), JSON.stringify(topology, null, 2));
    profileBefore = readFileSync(join(dir, 'profiles', 'host1.json'), 'utf8');
  });
  after(async () => {
    await vmlab(['destroy', '--force', '2node-vs'], env);
    rmSync(home, { recursive: true, force: true });
    rmSync(specRoot, { recursive: true, force: true });
  });

  it('deploys; vmlab status lists host1 like any node', { timeout: 420_000 }, async () => {
    const r = await vmlab(['deploy', '-S', dir], env, 400_000);
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse((await vmlab(['status', '--json', '2node-vs'], env)).stdout);
    assert.deepEqual(
      status.nodes.map(
        (n: { node: string; status: string; platform: string }) => `${n.node}:${n.status}:${n.platform}`,
      ),
      ['host1', 'host2', 'host3', 'host4', 'host5', 'host6']
        .map((h) => `${h}:running:alpine-host`)
        .concat(['switch1:running:sonic-vs', 'switch2:running:sonic-vs']),
    );
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'profiles', 'host1.json'), 'utf8')).ssh_port, PORTS + 200);
  });

  it("vmlab ssh host1 lands where eth0 is host1's link (its data NIC), management on mgmt0", {
    timeout: 60_000,
  }, async () => {
    const plan = JSON.parse(readFileSync(join(labDir, 'state.json'), 'utf8')).plan;
    const host1 = plan.nodes.find((n: { name: string }) => n.name === 'host1');
    const r = await ssh('host1', 'cat /sys/class/net/eth0/address /sys/class/net/mgmt0/address; ls /sys/class/net');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${host1.nics[1].mac}\n${host1.nics[0].mac}\neth0\nlo\nmgmt0\n`);
  });

  it('host1 pings switch1 across switch1:Ethernet4 — host1:eth0', { timeout: 120_000 }, async () => {
    for (const [node, cmd] of [
      ['switch1', 'ip addr add 10.20.4.1/24 dev eth5 && ip link set eth5 up'],
      ['host1', 'ip addr add 10.20.4.2/24 dev eth0 && ip link set eth0 up'],
    ] as const) {
      const r = await ssh(node, cmd);
      assert.equal(r.code, 0, `${node}: ${r.stderr}`);
    }
    // busybox ping -c 2 misbehaves on this host kind: one packet, retried.
    let r = await ssh('host1', 'ping -c 1 -W 3 10.20.4.1');
    for (let i = 0; i < 4 && r.code !== 0; i++) r = await ssh('host1', 'ping -c 1 -W 3 10.20.4.1');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 packets received/);
  });

  it('wrote inventory.yml and topology-data.json at deploy; vmlab inventory and graph print them', {
    timeout: 60_000,
  }, async () => {
    const inventory = await vmlab(['inventory'], env);
    assert.equal(inventory.code, 0, inventory.stderr);
    assert.equal(inventory.stdout, readFileSync(join(labDir, 'inventory.yml'), 'utf8'));
    const hosts = parse(inventory.stdout).all.children.alpine_host.hosts;
    assert.deepEqual(hosts.host1, {
      ansible_host: '127.0.0.1',
      ansible_port: PORTS + 200,
      ansible_user: 'root',
      vmlab_console_socket: join(labDir, 'qemu', 'host1.console'),
      vmlab_platform: 'alpine-host',
      vmlab_device_type: 'host',
    });
    const json = await vmlab(['inventory', '--format', 'json'], env);
    assert.equal(json.stdout, readFileSync(join(labDir, 'topology-data.json'), 'utf8'));
    assert.equal(JSON.parse(json.stdout).nodes.switch1['port-bindings'][0]['host-port'], PORTS + 206);
    assert.equal(
      (await vmlab(['inventory', '--format', 'ssh-config'], env)).stdout,
      readFileSync(join(labDir, 'ssh_config'), 'utf8'),
    );
    // The deployed lab draws as its spec does.
    assertGolden((await vmlab(['graph'], env)).stdout, join(fixtures, 'golden', 'newtron-specs__2node-vs.graph.mmd'));
  });

  it('destroys everything and restores the profiles', { timeout: 120_000 }, async () => {
    const r = await vmlab(['destroy', '2node-vs'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(findQemusUnder(labDir), []);
    assert.equal(existsSync(labDir), false);
    assert.equal(readFileSync(join(dir, 'profiles', 'host1.json'), 'utf8'), profileBefore);
  });
});
