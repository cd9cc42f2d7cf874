import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { networkInterfaces } from 'node:os';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { findPasst, scanLabPassts } from '../../src/lab/node/passtProcess.js';
import { isAlive } from '../../src/host/processes.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';
import { arpRequest, sendFrame } from '../helpers/linkAttack.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { canSwitchUser, connectAsNobody, connectTcp } from '../helpers/secondUser.js';
import { tinyGuest } from '../helpers/tinyGuest.js';

/**
 * A real 3-node lab of tiny guests under QEMU (TCG), driven through the CLI
 * as a user would. Sparse wiring: r1 is a stride-4 device wiring only
 * Ethernet0 and Ethernet8 (guest eth1 and eth3); r3 leaves eth1 unwired.
 *
 *   r1:Ethernet0 (eth1) ── r2:eth1         10.1.1.0/30   r1 listens
 *   r1:Ethernet8 (eth3) ── r3:eth2         10.1.2.0/30   r1 listens
 *   r3:eth3             ── r2:eth2         10.1.3.0/30   r3 listens
 *
 * (Not 10.0.2.0/24: that is QEMU user-mode networking's subnet on eth0.)
 */
const addresses: Record<string, Array<[string, string]>> = {
  r1: [
    ['eth1', '10.1.1.1/30'],
    ['eth3', '10.1.2.1/30'],
  ],
  r2: [
    ['eth1', '10.1.1.2/30'],
    ['eth2', '10.1.3.2/30'],
  ],
  r3: [
    ['eth2', '10.1.2.2/30'],
    ['eth3', '10.1.3.1/30'],
  ],
};
const pings: Array<[string, string]> = [
  ['r1', '10.1.1.2'],
  ['r1', '10.1.2.2'],
  ['r3', '10.1.3.2'],
  ['r2', '10.1.1.1'],
];

const EVIL_MAC = '02:66:66:66:66:66';

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

function labSpec(image: string, name: string, base: number) {
  const profileText: Record<string, unknown> = {
    r1: { platform: 'vs', mgmt_ip: 'PLACEHOLDER', loopback_ip: '10.255.0.1' },
    r2: { platform: 'host' },
    // r3's management NIC has egress (passt when installed); r1 and r2 are isolated, the default.
    r3: { platform: 'host', ssh_user: 'root', vm_mgmt_egress: true },
  };
  return writeSpecDir(
    {
      topology: {
        devices: {
          r1: { interfaces: { Ethernet0: { link: 'r2:eth1' }, Ethernet8: { link: 'r3:eth2' } } },
          r2: {},
          r3: {},
        },
        links: [
          { a: 'r1:Ethernet0', z: 'r2:eth1' },
          { a: 'r1:Ethernet8', z: 'r3:eth2' },
          { a: 'r3:eth3', z: 'r2:eth2' },
        ],
        vmlab: {
          name,
          link_transport: 'tcp',
          link_port_base: base,
          console_port_base: base + 100,
          ssh_port_base: base + 200,
        },
      },
      platforms: {
        platforms: {
          vs: {
            vm_image: image,
            vm_memory: 192,
            vm_cpus: 1,
            vm_nic_driver: 'e1000',
            vm_interface_map: 'stride-4',
            vm_credentials: { user: 'root', pass: 'vmlab' },
            vm_boot_timeout: 180,
          },
          host: {
            vm_image: image,
            vm_memory: 192,
            vm_cpus: 1,
            vm_nic_driver: 'virtio-net-pci',
            vm_interface_map: 'linux',
            vm_credentials: { user: 'root', pass: 'vmlab' },
            vm_boot_timeout: 180,
          },
        },
      },
      profiles: profileText,
    },
    name,
  );
}

async function setAddresses(env: NodeJS.ProcessEnv, node: string): Promise<void> {
  const cmds = addresses[node]!.map(([dev, ip]) => `ip addr add ${ip} dev ${dev} && ip link set ${dev} up`).join(
    ' && ',
  );
  const r = await vmlab(['ssh', node, '--', 'sh', '-c', cmds], env, 60_000);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
}

async function ping(env: NodeJS.ProcessEnv, from: string, to: string): Promise<void> {
  const r = await vmlab(['ssh', from, '--', 'ping', '-c', '2', '-W', '5', to], env, 60_000);
  assert.equal(r.code, 0, `${from} → ${to}\n${r.stdout}${r.stderr}`);
}

/** A host listener that counts who connected (the guest's attempts to reach the host). */
async function hostListener(address: string): Promise<{ port: number; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((sock) => {
    seen.push(sock.remoteAddress ?? '?');
    sock.end('hello-from-host\n');
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

/** The host's first non-loopback IPv4 address (what a guest with egress can address), if any. */
const hostAddress = () =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** From the guest: connect to ip:port for up to 5 s; what it printed and whether it got the host's greeting. */
async function guestConnects(env: NodeJS.ProcessEnv, node: string, ip: string, port: number): Promise<boolean> {
  const r = await vmlab(['ssh', node, '--', 'sh', '-c', `echo | timeout 5 nc ${ip} ${port}; echo rc=$?`], env, 60_000);
  assert.match(r.stdout, /rc=\d+/, `${node}: ${r.stdout}${r.stderr}`);
  return r.stdout.includes('hello-from-host');
}

// UDP links: test/e2e/linkIsolation (one host, UNIX datagram sockets) and the cross-host lab of test/e2e/multihost.
describe('a 3-node lab over TCP links', { concurrency: false }, () => {
  const home = tempHome();
  chmodSync(home, 0o755); // a home other users may enter: only the lab's own directory modes keep them out
  const env = { VMLAB_HOME: home };
  const name = 'e2e-tcp';
  const base = 23000;
  let dir = '';
  let profilesBefore: Record<string, string> = {};
  const status = async () => JSON.parse((await vmlab(['status', '--json', name], env)).stdout);

  before(async () => {
    dir = labSpec(await tinyGuest(), name, base);
    profilesBefore = Object.fromEntries(
      ['r1', 'r2', 'r3'].map((n) => [n, readFileSync(join(dir, 'profiles', `${n}.json`), 'utf8')]),
    );
  });
  after(async () => {
    await vmlab(['destroy', '--force', name], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('deploys and every node answers SSH', { timeout: 300_000 }, async () => {
    const r = await vmlab(['deploy', '-S', dir], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await status()).nodes.map((n: { node: string; status: string }) => [n.node, n.status]),
      [
        ['r1', 'running'],
        ['r2', 'running'],
        ['r3', 'running'],
      ],
    );
    const r1 = JSON.parse(readFileSync(join(dir, 'profiles', 'r1.json'), 'utf8'));
    // No console_port: nothing listens on one (the console is the owner's unix socket; console_tcp would open one).
    assert.deepEqual(r1, { platform: 'vs', mgmt_ip: '127.0.0.1', loopback_ip: '10.255.0.1', ssh_port: base + 200 });
  });

  it('runs commands with their arguments intact, by password and by lab key', { timeout: 120_000 }, async () => {
    const r = await vmlab(['ssh', 'r1', '--', 'sh', '-c', 'echo "a  b"; hostname'], env);
    assert.equal(r.stdout, 'a  b\nr1\n');
    // Plain OpenSSH with the lab's ssh_config and key, no password.
    const ssh = spawnSync(
      'ssh',
      ['-F', join(home, 'labs', name, 'ssh_config'), '-o', 'BatchMode=yes', 'r2', 'hostname'],
      { encoding: 'utf8' },
    );
    assert.equal(ssh.stdout, 'r2\n');
    const exit = await vmlab(['exec', 'r3', '--', 'sh', '-c', 'exit 7'], env);
    assert.equal(exit.code, 7);
  });

  it('attaches to the serial console and logs in there', { timeout: 60_000 }, async () => {
    const child = spawn(vmlabBin, ['console', 'r2'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const until = async (text: string) => {
      for (let i = 0; i < 100 && !screen.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
      assertIncludes(screen, text, 'console');
    };
    child.stdin.write('\n');
    await until('login:');
    child.stdin.write('root\n');
    await until('Password:');
    child.stdin.write('vmlab\n');
    await new Promise((r) => setTimeout(r, 1000));
    child.stdin.write('echo console-$((6*7))\n');
    await until('console-42');
    child.stdin.end('exit\n');
    await new Promise((r) => child.on('close', r));
    assertIncludes(readFileSync(join(home, 'labs', name, 'logs', 'r2.serial.log'), 'utf8'), 'vmlab-tiny: ready');
  });

  // Before: 127.0.0.1:<console_port> gave any local user (and any guest, via 10.0.2.2) the logged-in shell above.
  it("keeps each console the owner's: another uid is refused the socket, and no TCP console port listens", {
    timeout: 60_000,
  }, async (t) => {
    const labDir = join(home, 'labs', name);
    const nodes = (await status()).nodes as Array<{
      node: string;
      console_port: number | null;
      console_socket: string | null;
    }>;
    assert.deepEqual(
      nodes.map((n) => [n.node, n.console_port, n.console_socket]),
      ['r1', 'r2', 'r3'].map((n) => [n, null, join(labDir, 'qemu', `${n}.console`)]),
    );
    assert.equal(statSync(join(labDir, 'qemu')).mode & 0o777, 0o700);
    for (let i = 0; i < 3; i++)
      assert.equal(await connectTcp(base + 100 + i), 'ECONNREFUSED', `console port ${base + 100 + i}`);
    if (!canSwitchUser()) return t.skip('needs root to act as a second user (CI runs as root)');
    // The worst case for the owner: every directory above qemu/ open to others, as a 0755 home is.
    for (const d of [home, join(home, 'labs'), labDir]) chmodSync(d, 0o755);
    try {
      assert.equal(connectAsNobody({ path: join(labDir, 'qemu', 'r2.console') }), 'EACCES');
      assert.equal(connectAsNobody({ port: base + 101 }), 'ECONNREFUSED');
      // The owner still gets the console, through the same socket.
      const owner = createConnection({ path: join(labDir, 'qemu', 'r2.console') });
      let seen = '';
      owner.on('data', (d: Buffer) => (seen += d.toString()));
      await new Promise((r) => owner.once('connect', r));
      owner.write('\n');
      for (let i = 0; i < 100 && !/login:|# /.test(seen); i++) await new Promise((r) => setTimeout(r, 100));
      owner.destroy();
      assert.match(seen, /login:|# /);
    } finally {
      chmodSync(home, 0o700);
    }
  });

  it('pings across every link', { timeout: 180_000 }, async () => {
    for (const n of ['r1', 'r2', 'r3']) await setAddresses(env, n);
    for (const [from, to] of pings) await ping(env, from, to);
  });

  // Issue 20: a listener on 127.0.0.1 took the first connection, so a local user who connected while the peer
  // was down owned the link. On one host the listener is a UNIX socket in the lab's 0700 qemu/ dir.
  it('keeps another user off a link whose peer is down: no port, EACCES', { timeout: 240_000 }, async () => {
    assert.equal((await vmlab(['stop', 'r2', '--timeout', '5'], env)).code, 0);
    // nobody poses as r2 (10.1.1.2) on r1's link: today's port, then r1's listening socket.
    const frame = arpRequest(EVIL_MAC, '10.1.1.2', '10.1.1.1');
    assert.equal(sendFrame({ kind: 'tcp', host: '127.0.0.1', port: base }, frame, 'nobody'), 'ECONNREFUSED');
    const listener = { kind: 'unix-stream' as const, path: join(home, 'labs', name, 'qemu', 'r1.nic1') };
    assert.equal(sendFrame(listener, frame, 'nobody'), 'EACCES');
    const table = (await vmlab(['ssh', 'r1', '--', 'cat', '/proc/net/arp'], env)).stdout;
    assert.doesNotMatch(table, new RegExp(EVIL_MAC), `r1 learnt the injected MAC:\n${table}`);
    const r = await vmlab(['start', 'r2'], env);
    assert.equal(r.code, 0, r.stderr);
    await setAddresses(env, 'r2');
    await ping(env, 'r2', '10.1.1.1');
    await ping(env, 'r2', '10.1.3.1');
  });

  // issue 20: a guest must not reach the host's loopback (10.0.2.2 was the host's 127.0.0.1).
  const guestTest = 'keeps guests off host loopback; egress (passt) reaches only other host addresses';
  it(guestTest, { timeout: 180_000 }, async () => {
    const loop = await hostListener('127.0.0.1');
    const outside = hostAddress();
    const ext = outside ? await hostListener(outside) : undefined;
    try {
      // r1: isolated (the default): nothing on the host, SSH (this very command) still fine.
      assert.equal(await guestConnects(env, 'r1', '10.0.2.2', loop.port), false);
      if (ext) assert.equal(await guestConnects(env, 'r1', outside!, ext.port), false);
      assert.deepEqual(loop.seen, []);
      assert.deepEqual(ext?.seen ?? [], []);
      assert.equal((await vmlab(['ssh', 'r1', '--', 'hostname'], env)).stdout, 'r1\n');
      // r3: vm_mgmt_egress.
      const argv = readFileSync(`/proc/${(await status()).nodes[2].pid}/cmdline`, 'utf8').split('\0');
      if (findPasst(process.env)) {
        assert.ok(
          argv.some((a) => a.startsWith('stream,id=mgmt,')),
          argv.join(' '),
        );
        assert.equal(await guestConnects(env, 'r3', '10.0.2.2', loop.port), false);
        assert.deepEqual(loop.seen, [], 'host loopback stays unreachable with egress');
        if (ext) {
          assert.equal(await guestConnects(env, 'r3', outside!, ext.port), true, 'egress reaches the host address');
          assert.equal(ext.seen.length, 1);
        }
      } else {
        // Without passt, egress is plain user net: the plan says so.
        assert.ok(
          argv.some((a) => a.startsWith('user,id=mgmt,hostfwd=')),
          argv.join(' '),
        );
        const plan = await vmlab(['deploy', '-S', dir, '--dry-run'], env);
        const said = 'r3: management egress (profiles/r3.json vm_mgmt_egress) without passt';
        assertIncludes(plan.stdout + plan.stderr, said);
      }
    } finally {
      loop.server.close();
      ext?.server.close();
    }
  });

  const killTest = 'the passt of a killed node goes with its QEMU, and the node starts again';
  it(killTest, { timeout: 180_000, skip: !findPasst(process.env) && 'passt not installed' }, async () => {
    const labDir = join(home, 'labs', name);
    const passts = scanLabPassts(labDir);
    assert.equal(passts.length, 1, 'r3 alone has a passt');
    process.kill((await status()).nodes[2].pid, 'SIGKILL');
    for (let i = 0; i < 50 && passts.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(scanLabPassts(labDir), []);
    const r = await vmlab(['start', 'r3'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await vmlab(['ssh', 'r3', '--', 'hostname'], env)).stdout, 'r3\n');
    await setAddresses(env, 'r3'); // the tiny guest keeps no state across boots
    await ping(env, 'r3', '10.1.3.2');
    await ping(env, 'r3', '10.1.2.1');
  });

  // A TCP peer does not reconnect by itself: vmlab re-links it.
  it('gives a restarted listener its links back', { timeout: 240_000 }, async () => {
    assert.equal((await vmlab(['stop', 'r1', '--timeout', '5'], env)).code, 0);
    assert.equal((await status()).nodes[0].status, 'stopped');
    const r = await vmlab(['start', 'r1'], env);
    assert.equal(r.code, 0, r.stderr);
    await setAddresses(env, 'r1'); // the tiny guest keeps no state across boots
    await ping(env, 'r1', '10.1.1.2');
    await ping(env, 'r1', '10.1.2.2');
    await ping(env, 'r3', '10.1.3.2'); // untouched link still fine
  });

  it('destroys everything: no process, no port, profiles as before', { timeout: 60_000 }, async () => {
    const r = await vmlab(['destroy', name], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(findQemusUnder(join(home, 'labs', name)), []);
    assert.deepEqual(scanLabPassts(join(home, 'labs', name)), []);
    for (const port of [
      base,
      base + 1,
      base + 2,
      base + 100,
      base + 101,
      base + 102,
      base + 200,
      base + 201,
      base + 202,
    ]) {
      assert.equal(await portFree(port), true, `port ${port}`);
    }
    for (const n of ['r1', 'r2', 'r3'])
      assert.equal(readFileSync(join(dir, 'profiles', `${n}.json`), 'utf8'), profilesBefore[n]);
    assert.equal(existsSync(join(home, 'labs', name)), false);
    assert.equal((await vmlab(['destroy', name], env)).code, 0); // idempotent
  });
});
