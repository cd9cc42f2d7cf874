import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { terminate } from '../../src/host/processes.js';
import { tempHome, vmlabBin } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { tinyGuest } from '../helpers/tinyGuest.js';
import { inNs, makeHostPair, startSshServers, vmlabIn, type HostPair, type SshServers } from '../helpers/netns.js';

/**
 * Two hosts on this machine: network namespaces a and b joined by a veth
 * pair (10.231.0.1 and .2 exist only inside them), each with its own
 * VMLAB_HOME and image library, each running `vmlab deploy --host`.
 *
 *   r1 (host a) eth1 ── r2 (host b) eth1     TCP, r1 listens on 10.231.0.1
 *
 * b deploys first, so r2 must wait for r1's listener on the other host.
 * Then the same lab over UDP links from one machine: an SSH server in each
 * namespace, and `--all-hosts` run on host a.
 */
const BASE = 31000;
const LAB = 'e2e-mh';

describe('a lab across two hosts (network namespaces)', { concurrency: false }, () => {
  let hosts: HostPair;
  const homes = { a: tempHome(), b: tempHome() };
  const env = (h: 'a' | 'b') => ({ VMLAB_HOME: homes[h] });
  const run = (h: 'a' | 'b', args: string[], timeoutMs?: number) =>
    vmlabIn(hosts.names[h === 'a' ? 0 : 1], args, env(h), timeoutMs);
  let dir = '';
  let udpDir = '';
  let image = '';
  const spec = (transport: 'tcp' | 'udp', name: string) =>
    writeSpecDir(
      {
        topology: {
          devices: { r1: {}, r2: {} },
          links: [{ a: 'r1:eth1', z: 'r2:eth1' }],
          vmlab: {
            name: LAB,
            link_transport: transport,
            link_port_base: BASE,
            console_port_base: BASE + 100,
            ssh_port_base: BASE + 200,
            hosts: { a: hosts.addresses[0], b: hosts.addresses[1] },
          },
        },
        platforms: {
          platforms: {
            tiny: {
              vm_image: 'tiny',
              vm_memory: 192,
              vm_cpus: 1,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_credentials: { user: 'root', pass: 'vmlab' },
              vm_boot_timeout: 180,
            },
          },
        },
        profiles: { r1: { platform: 'tiny', vm_host: 'a' }, r2: { platform: 'tiny', vm_host: 'b' } },
      },
      name,
    );
  const profile = (n: string) => readFileSync(join(dir, 'profiles', `${n}.json`), 'utf8');
  const before_: Record<string, string> = {};

  before(() => {
    hosts = makeHostPair();
    return tinyGuest().then((img) => {
      image = img;
      dir = spec('tcp', LAB);
      udpDir = spec('udp', `${LAB}-udp`);
      for (const n of ['r1', 'r2']) before_[n] = profile(n);
    });
  });

  let ssh: SshServers | undefined;
  const sshWork = mkdtempSync('/tmp/vmlab-mh-ssh-');

  after(async () => {
    ssh?.stop();
    rmSync(sshWork, { recursive: true, force: true });
    for (const h of ['a', 'b'] as const) {
      await run(h, ['destroy', '--force', LAB]).catch(() => undefined);
      for (const pid of findQemusUnder(homes[h])) await terminate(pid);
      rmSync(homes[h], { recursive: true, force: true });
    }
    hosts?.remove();
  });

  it('refuses a host whose library lacks the image, before starting anything', { timeout: 60_000 }, async () => {
    assert.equal((await run('a', ['images', 'import', image, '--name', 'tiny'])).code, 0);
    const r = await run('b', ['deploy', '-S', dir, '--host', 'b']);
    assert.equal(r.code, 2, r.stderr);
    assertIncludes(r.stderr, 'no image "tiny" in the library (on host b, for r2)');
    assertIncludes(r.stderr, 'vmlab images pull tiny');
    assert.deepEqual(findQemusUnder(homes.b), []);
    assert.equal(profile('r2'), before_.r2);
  });

  it("deploys each host's nodes; the Z side waits for the listener on the other host", {
    timeout: 300_000,
  }, async () => {
    assert.equal((await run('b', ['images', 'import', image, '--name', 'tiny'])).code, 0);
    const b = run('b', ['deploy', '-S', dir, '--host', 'b']);
    await new Promise((r) => setTimeout(r, 2000));
    const a = await run('a', ['deploy', '-S', dir, '--host', 'a']);
    const rb = await b;
    assert.equal(a.code, 0, a.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assertIncludes(
      rb.stdout + rb.stderr,
      `r2: waiting for r1:eth1 on host a to listen on ${hosts.addresses[0]}:${BASE}`,
    );
    assertIncludes(a.stdout, `Lab "${LAB}" is up on host a (1 more on b)`);
    // The link's TCP connection really crosses the veth.
    assert.match(
      inNs(hosts.names[0], ['ss', '-Htn', 'state', 'established', `( sport = :${BASE} )`]),
      new RegExp(
        `${hosts.addresses[0].replaceAll('.', '\\.')}:${BASE}\\s+${hosts.addresses[1].replaceAll('.', '\\.')}:\\d+`,
      ),
    );
  });

  it("patches each profile with its host's address, and shows the other host's nodes as remote", {
    timeout: 60_000,
  }, async () => {
    assert.deepEqual(JSON.parse(profile('r1')), {
      platform: 'tiny',
      vm_host: 'a',
      mgmt_ip: hosts.addresses[0],
      ssh_port: BASE + 200,
    });
    assert.deepEqual(JSON.parse(profile('r2')), {
      platform: 'tiny',
      vm_host: 'b',
      mgmt_ip: hosts.addresses[1],
      ssh_port: BASE + 201,
    });
    const st = JSON.parse((await run('a', ['status', '--json', LAB])).stdout);
    assert.deepEqual(
      st.nodes.map((n: { node: string; status: string; host: string; mgmt_ip: string }) => [
        n.node,
        n.status,
        n.host,
        n.mgmt_ip,
      ]),
      [
        ['r1', 'running', 'a', hosts.addresses[0]],
        ['r2', 'remote (host b)', 'b', hosts.addresses[1]],
      ],
    );
    const wrong = await run('a', ['status', LAB, '--host', 'b']);
    assert.equal(wrong.code, 2);
    assertIncludes(wrong.stderr, `lab "${LAB}" here runs host a's nodes, not host b's`);
  });

  // ssh exits 255 when the connection itself fails (a starved TCG guest may miss ConnectTimeout once).
  const sshIn = async (h: 'a' | 'b', node: string, cmd: string[]) => {
    let r = await run(h, ['ssh', node, '--', ...cmd], 60_000);
    if (r.code === 255) r = await run(h, ['ssh', node, '--', ...cmd], 60_000);
    return r;
  };
  const pingAcross = async () => {
    for (const [h, node, addr] of [
      ['a', 'r1', '10.9.0.1/30'],
      ['b', 'r2', '10.9.0.2/30'],
    ] as const) {
      const r = await sshIn(h, node, ['sh', '-c', `ip addr add ${addr} dev eth1 && ip link set eth1 up`]);
      assert.equal(r.code, 0, `${node}: ${r.stderr}`);
    }
    const p = await sshIn('a', 'r1', ['ping', '-c', '2', '-W', '5', '10.9.0.2']);
    assert.equal(p.code, 0, p.stdout + p.stderr);
  };

  it('pings across the cross-host link', { timeout: 120_000 }, pingAcross);

  // issue 20: a multi-host node was left on unrestricted user net, where 10.0.2.2 is its host's 127.0.0.1.
  it("keeps a multi-host guest off its host's loopback; its SSH comes through the relay", {
    timeout: 120_000,
  }, async () => {
    const [ns, addr] = [hosts.names[0], hosts.addresses[0]];
    const listeners = inNs(ns, ['ss', '-Htlnp']);
    assert.match(listeners, new RegExp(`${addr.replaceAll('.', '\\.')}:${BASE + 200}\\b.*"node"`), listeners);
    assert.match(listeners, /127\.0\.0\.1:\d+\b.*"vmlab-r1"/, listeners);
    // A service on host a's loopback, as the vmlab API or a database would be.
    const port = BASE + 299;
    const script = `require('net').createServer((s) => { console.log('seen'); s.end('hello-from-host\\n'); }).listen(${port}, '127.0.0.1', () => console.log('up'))`;
    const svc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    svc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      for (let i = 0; i < 100 && !out.includes('up'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(out.includes('up'), 'the loopback service did not start');
      const r = await sshIn('a', 'r1', ['sh', '-c', `echo | timeout 5 nc 10.0.2.2 ${port}; echo rc=$?`]);
      assert.match(r.stdout, /rc=\d+/, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /hello-from-host/);
      assert.equal(out.includes('seen'), false, "the guest reached its host's loopback");
    } finally {
      svc.kill();
    }
  });

  it('destroy on a host stops only its nodes; on both leaves nothing', { timeout: 60_000 }, async () => {
    assert.equal((await run('a', ['destroy', LAB, '--host', 'a'])).code, 0);
    assert.deepEqual(findQemusUnder(homes.a), []);
    assert.equal(profile('r1'), before_.r1);
    const st = JSON.parse((await run('b', ['status', '--json', LAB])).stdout);
    assert.deepEqual(
      st.nodes.map((n: { node: string; status: string }) => [n.node, n.status]),
      [
        ['r1', 'remote (host a)'],
        ['r2', 'running'],
      ],
    );
    assert.notEqual(profile('r2'), before_.r2);
    assert.equal((await run('b', ['destroy', LAB])).code, 0);
    assert.deepEqual(findQemusUnder(homes.b), []);
    assert.equal(profile('r2'), before_.r2);
    for (const ns of hosts.names)
      assert.equal(inNs(ns, ['ss', '-Htln', `( sport >= :${BASE} and sport <= :${BASE + 299} )`]), '');
  });

  it("from one machine over SSH, with UDP links: deploy, status and destroy --all-hosts, each host's output prefixed with its name", {
    timeout: 300_000,
  }, async () => {
    ssh = await startSshServers(hosts, [env('a'), env('b')], sshWork);
    // Run on host a, which reaches itself and b over SSH; each remote vmlab acts on its own VMLAB_HOME.
    const controller = { ...env('a'), VMLAB_SSH_CONFIG: ssh.config, VMLAB_REMOTE_BIN: vmlabBin };
    const all = (args: string[]) => vmlabIn(hosts.names[0], [...args, '--all-hosts'], controller);
    const udpProfile = (n: string) => readFileSync(join(udpDir, 'profiles', `${n}.json`), 'utf8');
    const udpBefore = udpProfile('r1');
    const d = await all(['deploy', '-S', udpDir]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.match(d.stdout + d.stderr, /^\[a\] .*r1 ready after/m);
    assert.match(d.stdout + d.stderr, /^\[b\] .*r2 ready after/m);
    assert.equal(findQemusUnder(homes.a).length, 1);
    assert.equal(findQemusUnder(homes.b).length, 1);
    assert.equal(JSON.parse(udpProfile('r2')).mgmt_ip, hosts.addresses[1]);
    // r1's end of the UDP link is bound to host a's address (not 127.0.0.1, not 0.0.0.0).
    assert.match(
      inNs(hosts.names[0], ['ss', '-Huan', `( sport >= :${BASE} and sport < :${BASE + 100} )`]),
      new RegExp(`${hosts.addresses[0].replaceAll('.', '\\.')}:${BASE}\\d*\\b`),
    );
    await pingAcross();
    // Deployed again by mistake: every host refuses, and nothing rolls the running lab back.
    const again = await all(['deploy', '-S', udpDir]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /^\[a\] error: lab "e2e-mh" is already deployed/m);
    assertIncludes(again.stderr, 'rolling back nothing (failed: a, b)');
    assert.equal(findQemusUnder(homes.a).length + findQemusUnder(homes.b).length, 2);
    const st = await all(['status', '-S', udpDir]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^\[a\] r1\s+running/m);
    assert.match(st.stdout, /^\[b\] r2\s+running/m);
    const x = await all(['destroy', '-S', udpDir]);
    assert.equal(x.code, 0, x.stdout + x.stderr);
    assert.deepEqual([...findQemusUnder(homes.a), ...findQemusUnder(homes.b)], []);
    assert.equal(udpProfile('r1'), udpBefore);
  });
});
