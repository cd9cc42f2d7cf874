import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempHome, vmlab } from '../helpers/cli.js';
import { arpRequest, sendFrame } from '../helpers/linkAttack.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { tinyGuest } from '../helpers/tinyGuest.js';
import { isAlive } from '../../src/host/processes.js';

/**
 * Issue 20, item 5: a UDP link port on 127.0.0.1 took frames from any
 * local user (`nobody` made a guest learn an ARP entry). A real 2-node lab
 * of tiny guests over link_transport "udp"; `nobody` sends the same crafted
 * ARP request to the seed's link ports and to the link's sockets.
 *
 *   r1:eth1 (10.1.1.1/24) ── r2:eth1 (10.1.1.2/24)
 */
const NAME = 'e2e-udpiso';
const BASE = 23600;
const OWNER_MAC = '02:00:00:00:77:77';
const EVIL_MAC = '02:66:66:66:66:66';
const ip = { r1: '10.1.1.1', r2: '10.1.1.2' } as const;

const udpFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

describe('a 2-node lab over UDP links takes frames only from the peer', { concurrency: false }, () => {
  const home = tempHome();
  // A home other users may enter (as ~ often is): only the lab's own directory modes keep them out.
  chmodSync(home, 0o755);
  const env = { VMLAB_HOME: home };
  const qemuDir = join(home, 'labs', NAME, 'qemu');
  let dir = '';

  const ssh = async (node: string, cmd: string) => {
    const r = await vmlab(['ssh', node, '--', 'sh', '-c', cmd], env, 60_000);
    assert.equal(r.code, 0, `${node}: ${cmd}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const neighbours = (node: string) => ssh(node, 'cat /proc/net/arp');
  const addresses = (node: 'r1' | 'r2') => ssh(node, `ip addr add ${ip[node]}/24 dev eth1 && ip link set eth1 up`);
  const ping = (from: string, to: string) => ssh(from, `ping -c 2 -W 5 ${to}`);

  before(async () => {
    const image = await tinyGuest();
    const platform = {
      vm_image: image,
      vm_memory: 192,
      vm_cpus: 1,
      vm_nic_driver: 'virtio-net-pci',
      vm_interface_map: 'linux',
      vm_credentials: { user: 'root', pass: 'vmlab' },
      vm_boot_timeout: 180,
    };
    const ports = { link_port_base: BASE, console_port_base: BASE + 100, ssh_port_base: BASE + 200 };
    dir = writeSpecDir(
      {
        topology: {
          devices: { r1: {}, r2: {} },
          links: [{ a: 'r1:eth1', z: 'r2:eth1' }],
          vmlab: { name: NAME, link_transport: 'udp', ...ports },
        },
        platforms: { platforms: { host: platform } },
        profiles: { r1: { platform: 'host' }, r2: { platform: 'host' } },
      },
      NAME,
    );
  });
  after(async () => {
    await vmlab(['destroy', '--force', NAME], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('deploys and pings both ways over the link', { timeout: 300_000 }, async () => {
    const r = await vmlab(['deploy', '-S', dir], env);
    assert.equal(r.code, 0, r.stderr);
    await addresses('r1');
    await addresses('r2');
    await ping('r1', ip.r2);
    await ping('r2', ip.r1);
  });

  it("keeps out another user's ARP frame: no port to send to, EACCES on the sockets", {
    timeout: 120_000,
  }, async () => {
    const status = JSON.parse((await vmlab(['status', '--json', NAME], env)).stdout);
    // The seed's port numbers stay in the state; on one host nothing binds them any more.
    const [link] = status.links as Array<{ port: number; z_port: number; transport: string; socket: string }>;
    assert.deepEqual([link!.transport, link!.port, link!.z_port, link!.socket], ['udp', BASE, BASE + 1, 'unix']);
    // And the table says what carries it, not a port nothing binds.
    assert.match((await vmlab(['status', NAME], env)).stdout, /r1:eth1\s+r2:eth1\s+unix datagram socket/);
    assert.equal(await udpFree(link!.port), true, `UDP port ${link!.port} is bound`);
    assert.equal(await udpFree(link!.z_port), true, `UDP port ${link!.z_port} is bound`);

    // The control: the same kind of frame from the lab's owner reaches r1, which learns the sender.
    const r1Socket = { kind: 'unix-dgram' as const, path: join(qemuDir, 'r1.nic1') };
    const r2Socket = { kind: 'unix-dgram' as const, path: join(qemuDir, 'r2.nic1') };
    assert.equal(sendFrame(r1Socket, arpRequest(OWNER_MAC, '10.1.1.77', ip.r1), null), 'sent');
    let seen = '';
    for (let i = 0; i < 20 && !seen.includes(OWNER_MAC); i++) {
      seen = await neighbours('r1');
      if (!seen.includes(OWNER_MAC)) await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(seen, new RegExp(`10\\.1\\.1\\.77 .*${OWNER_MAC}`), "the owner's ARP frame should reach r1");

    // Another local user: today's attack on the seed's ports, then the sockets themselves.
    for (const [port, target] of [
      [link!.port, ip.r1],
      [link!.z_port, ip.r2],
    ] as const) {
      sendFrame({ kind: 'udp', host: '127.0.0.1', port }, arpRequest(EVIL_MAC, '10.1.1.66', target), 'nobody');
    }
    assert.equal(sendFrame(r1Socket, arpRequest(EVIL_MAC, '10.1.1.66', ip.r1), 'nobody'), 'EACCES');
    assert.equal(sendFrame(r2Socket, arpRequest(EVIL_MAC, '10.1.1.66', ip.r2), 'nobody'), 'EACCES');
    await new Promise((r) => setTimeout(r, 2000));
    for (const n of ['r1', 'r2']) {
      const table = await neighbours(n);
      assert.doesNotMatch(table, new RegExp(`${EVIL_MAC}|10\\.1\\.1\\.66 `), `${n} learnt the injected MAC:\n${table}`);
    }
    await ping('r1', ip.r2);
    await ping('r2', ip.r1);
  });

  it('gives a node killed with -9 its link back over the socket file it left', { timeout: 240_000 }, async () => {
    const pid = JSON.parse(readFileSync(join(home, 'labs', NAME, 'state.json'), 'utf8')).nodes.r2.pid as number;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(join(qemuDir, 'r2.nic1')), true); // QEMU unlinks it before it binds again
    const r = await vmlab(['start', 'r2'], env);
    assert.equal(r.code, 0, r.stderr);
    await addresses('r2'); // the tiny guest keeps no state across boots
    await ping('r2', ip.r1);
    await ping('r1', ip.r2);
  });
});
