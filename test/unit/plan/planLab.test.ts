import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planError, planFor } from '../../helpers/planFor.js';
import { assertGolden } from '../../helpers/golden.js';
import { assertIncludes } from '../../helpers/assertions.js';
import { baseSpec, writeSpecDir } from '../../helpers/specDir.js';
import { packageRoot } from '../../../src/packageRoot.js';
import type { LabPlan } from '../../../src/plan/labPlan.js';
import { imagePathsOf, planLab, resolveLab } from '../../../src/plan/planLab.js';
import { loadSpec } from '../../../src/spec/loadSpec.js';

const fixtures = join(packageRoot(), 'test', 'fixtures');
/** Plans hold absolute spec paths: make them the same on every checkout. */
const portable = (plan: LabPlan) => JSON.stringify(plan, null, 2).replaceAll(fixtures, '<fixtures>') + '\n';

describe('planLab golden plans', () => {
  for (const dir of ['specs/sparse', 'newtron-specs/2node', 'newtron-specs/4node', 'newtron-specs/2node-vs']) {
    it(dir, () =>
      assertGolden(
        portable(planFor(join(fixtures, dir))),
        join(fixtures, 'golden', `${dir.replace('/', '__')}.plan.json`),
      ),
    );
  }
});

describe('planLab', () => {
  const sparse = () => planFor(join(fixtures, 'specs/sparse'));
  const node = (p: LabPlan, name: string) => p.nodes.find((n) => n.name === name)!;

  it('gives sparse wiring placeholder NICs so interface N is always NIC N', () => {
    const p = sparse();
    assert.deepEqual(
      node(p, 'r1').nics.map((n) => [n.index, n.iface, n.backend.kind]),
      [
        [0, 'mgmt', 'user'],
        [1, 'Ethernet0', 'unix-listen'],
        [2, 'Ethernet4', 'unwired'],
        [3, 'Ethernet8', 'unix-listen'],
      ],
    );
    // A listed but unwired interface still gets its NIC; Loopback0 is no NIC.
    assert.deepEqual(
      node(p, 'r2').nics.map((n) => n.iface),
      ['mgmt', 'Ethernet0', 'Ethernet4', 'Ethernet8', 'Ethernet12'],
    );
    assert.deepEqual(
      node(p, 'r3').nics.map((n) => [n.iface, n.backend.kind]),
      [
        ['mgmt', 'user'],
        ['eth1', 'unwired'],
        ['eth2', 'unix-connect'],
      ],
    );
  });

  it('allocates ports by sorted node index and link index', () => {
    const p = sparse();
    assert.deepEqual(
      p.nodes.map((n) => [n.name, n.consolePort, n.sshPort]),
      [
        ['r1', 32000, 42000],
        ['r2', 32001, 42001],
        ['r3', 32002, 42002],
      ],
    );
    assert.deepEqual(
      p.links.map((l) => [l.port, l.listener]),
      [
        [22000, 'a'],
        [22001, 'a'],
      ],
    );
  });

  it('emits the NICs in index order in the argv, mgmt first, with deterministic, unique MACs', () => {
    const r1 = sparse().nodes[0]!;
    const devices = r1.argv.filter((_, i) => r1.argv[i - 1] === '-device');
    assert.deepEqual(
      devices,
      r1.nics.map((n) => `e1000,netdev=${n.index === 0 ? 'mgmt' : `nic${n.index}`},mac=${n.mac}`),
    );
    assert.deepEqual(
      sparse().nodes[0]!.nics.map((n) => n.mac),
      r1.nics.map((n) => n.mac),
    );
    assert.equal(new Set(sparse().nodes.flatMap((n) => n.nics.map((x) => x.mac))).size, 12);
  });

  it('binds every listener to 127.0.0.1 and uses TCG with -cpu max', () => {
    const argv = sparse()
      .nodes.flatMap((n) => n.argv)
      .join(' ');
    for (const part of [
      'hostfwd=tcp:127.0.0.1:42000-:22',
      'socket,id=console,host=127.0.0.1,port=32000',
      '-cpu max',
      '-machine q35,mem-merge=on',
      '-accel tcg,tb-size=32',
    ])
      assertIncludes(argv, part);
    assert.doesNotMatch(argv, /0\.0\.0\.0/);
  });

  // A port on 127.0.0.1 takes a connection (or a datagram) from any local user: links on one host use none.
  it("wires links on one host through UNIX sockets in the lab's 0700 qemu/ dir, with no link port", () => {
    const p = sparse();
    const argv = p.nodes.flatMap((n) => n.argv).join(' ');
    const sock = (n: string, i: number) => `/home/user/.vmlab/labs/sparse/qemu/${n}.nic${i}`;
    assertIncludes(node(p, 'r1').argv.join(' '), `stream,id=link1,server=on,addr.type=unix,addr.path=${sock('r1', 1)}`);
    assertIncludes(
      node(p, 'r2').argv.join(' '),
      `stream,id=link1,server=off,addr.type=unix,addr.path=${sock('r1', 1)}`,
    );
    assertIncludes(
      node(p, 'r3').argv.join(' '),
      `stream,id=link2,server=off,addr.type=unix,addr.path=${sock('r1', 3)}`,
    );
    assert.doesNotMatch(argv, /listen=|connect=|udp=|:2200[01]\b/);
    assert.deepEqual(
      p.links.map((l) => l.socket),
      ['unix', 'unix'],
    );
  });

  it('refuses a link socket path over the unix socket limit, naming it', () => {
    // A state root where r1's QMP socket takes the full 107 bytes and its link socket (`.nic1`) one more.
    const root = '/' + 'h'.repeat(107 - '/labs/sparse/qemu/r1.qmp'.length - 1);
    const spec = loadSpec(writeSpecDir(baseSpec()));
    const resolved = resolveLab(spec, '/home/user');
    const images = Object.fromEntries(imagePathsOf(resolved).map((p) => [p, { format: 'qcow2' }]));
    const err = (() => {
      try {
        planLab(spec, resolved, { home: '/home/user', root, accel: 'tcg', qemuBinary: 'qemu-system-x86_64', images });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    assertIncludes(
      err,
      `the link socket path ${root}/labs/sparse/qemu/r1.nic1 is 108 bytes, over the 107-byte limit of unix sockets`,
    );
    assert.doesNotMatch(err, /QMP socket/);
  });

  it('resolves profile > platform > default', () => {
    const p = sparse();
    assert.equal(node(p, 'r2').memoryMb, 320);
    assert.equal(node(p, 'r1').memoryMb, 256);
    assert.equal(node(p, 'r1').image.path, '/home/user/.vmlab/images/vmlab-tiny.qcow2');
  });

  it('patches profiles keeping every other byte', () => {
    const p = sparse();
    assert.equal(
      p.profiles.find((x) => x.node === 'r1')!.after,
      '{\n    "platform": "vs",\n    "mgmt_ip": "127.0.0.1",\n    "loopback_ip": "10.0.0.1",\n    "ssh_port": 42000,\n    "console_port": 32000\n}\n',
    );
    assert.deepEqual(JSON.parse(p.profiles.find((x) => x.node === 'r3')!.after), {
      platform: 'host',
      mgmt_ip: '127.0.0.1',
      ssh_port: 42002,
      console_port: 32002,
    });
  });

  it("deploys newtron 2node-vs as written: a host device's eth0 is its first data port, its management NIC comes last", () => {
    const p = planFor(join(fixtures, 'newtron-specs/2node-vs'));
    const host1 = node(p, 'host1');
    assert.equal(host1.deviceType, 'host');
    assert.deepEqual(
      host1.nics.map((n) => [n.index, n.iface, n.peer ?? '']),
      [
        [0, 'mgmt', ''],
        [1, 'eth0', 'switch1:Ethernet4'],
      ],
    );
    // PCI order is -device order: the data NIC first, so the guest calls it eth0; the guest learns the management MAC.
    const devices = host1.argv.filter((_, i) => host1.argv[i - 1] === '-device');
    assert.deepEqual(devices, [
      `virtio-net-pci,netdev=nic1,mac=${host1.nics[1]!.mac}`,
      `virtio-net-pci,netdev=mgmt,mac=${host1.nics[0]!.mac}`,
    ]);
    assertIncludes(host1.argv.join(' '), `-fw_cfg name=opt/vmlab/mgmt_mac,string=${host1.nics[0]!.mac}`);
    // A switch is unchanged: management first, no mgmt_mac.
    const switch1 = node(p, 'switch1');
    assert.equal(switch1.deviceType, undefined);
    assert.match(switch1.argv.find((a) => a.includes('netdev=')) ?? '', /netdev=mgmt/);
    assert.doesNotMatch(switch1.argv.join(' '), /mgmt_mac/);
    assert.deepEqual(p.links[1]!.z, { node: 'host1', iface: 'eth0', nic: 1 });
  });

  it('still refuses eth0 on a linux-map node that is not a host device', () => {
    const s = baseSpec();
    (s.topology as any).links[1].z = 'r3:eth0';
    assertIncludes(planError(writeSpecDir(s)), 'r3:eth0 is the management interface (NIC 0) under the linux map');
  });

  it('uses one UDP port per endpoint with link_transport udp', () => {
    const s = baseSpec();
    (s.topology as any).vmlab.link_transport = 'udp';
    const p = planFor(writeSpecDir(s));
    assert.deepEqual(
      p.links.map((l) => [l.port, l.zPort]),
      [
        [20000, 20001],
        [20002, 20003],
      ],
    );
    // On one host the numbers are only for what reads them: the frames go through UNIX datagram sockets.
    assertIncludes(
      p.nodes[0]!.argv.join(' '),
      'dgram,id=link1,local.type=unix,local.path=/home/user/.vmlab/labs/sparse/qemu/r1.nic1,remote.type=unix,remote.path=/home/user/.vmlab/labs/sparse/qemu/r2.nic1',
    );
    assert.doesNotMatch(p.nodes.flatMap((n) => n.argv).join(' '), /udp=|localaddr=/);
  });

  it('gives a node on a cloud-init library image a seed drive and the image user', () => {
    const dir = writeSpecDir({
      topology: { devices: { c1: {}, c2: {} } },
      platforms: { platforms: { cloud: { vm_image: 'debian-12', vm_interface_map: 'linux' } } },
      profiles: { c1: { platform: 'cloud' }, c2: { platform: 'cloud', ssh_user: 'ops' } },
    });
    const p = planFor(dir, (key) =>
      key === 'library:debian-12'
        ? { format: 'qcow2', path: '/lib/debian-12.qcow2', cloudInit: { user: 'debian' } }
        : { problem: 'unexpected' },
    );
    const c1 = node(p, 'c1');
    assert.equal(c1.image.path, '/lib/debian-12.qcow2');
    assert.equal(c1.credentials.user, 'debian');
    assert.equal(node(p, 'c2').credentials.user, 'ops');
    assert.deepEqual(c1.seed, { path: '/home/user/.vmlab/labs/lab/seeds/c1.iso', user: 'debian' });
    assertIncludes(
      c1.argv.join(' '),
      '-drive file=/home/user/.vmlab/labs/lab/seeds/c1.iso,format=raw,if=virtio,readonly=on',
    );
  });

  it('reports a library image that is not there against the field that names it', () => {
    const dir = writeSpecDir({ topology: { devices: { c1: {} } }, profiles: { c1: { vm_image: 'ubuntu-24.04' } } });
    assertIncludes(
      planError(dir, () => ({ problem: 'no image "ubuntu-24.04" in the library', hint: 'pull or import it' })),
      'profiles/c1.json: vm_image: no image "ubuntu-24.04" in the library\n    fix: pull or import it',
    );
  });

  it("puts each serial console on a unix socket in the lab's qemu/ dir by default: no TCP port listened on, none written", () => {
    const p = planFor(join(fixtures, 'newtron-specs/2node'));
    for (const n of p.nodes) {
      assert.equal(n.consolePort, null);
      assert.equal(n.files.console, `/home/user/.vmlab/labs/${p.name}/qemu/${n.name}.console`);
      const chardev = n.argv[n.argv.indexOf('-chardev') + 1];
      assert.equal(
        chardev,
        `socket,id=console,path=${n.files.console},server=on,wait=off,logfile=${n.files.serialLog},logappend=on`,
      );
      assert.equal(n.argv.filter((a) => a === '-chardev').length, 1);
    }
    for (const pr of p.profiles) assert.equal('console_port' in pr.set, false, pr.label);
    for (const pr of p.profiles) assert.equal('console_port' in JSON.parse(pr.after), false, pr.label);
    assert.equal(
      p.warnings.some((w) => w.includes('console_tcp')),
      false,
    );
  });

  it('listens on TCP console ports only with console_tcp, and warns that any local user can attach', () => {
    const p = sparse();
    assertIncludes(
      p.warnings.join('\n'),
      'vmlab.console_tcp is on: each serial console listens on TCP 127.0.0.1:<console_port> without a password, so any local user',
    );
    assert.equal(
      node(p, 'r1').argv.some((a) => a.includes('path=') && a.startsWith('socket,id=console')),
      false,
    );
    // Opting in moves no other port: the console ports were allocated all along.
    const read = (f: string) => JSON.parse(readFileSync(join(fixtures, 'specs/sparse', f), 'utf8'));
    const profiles = Object.fromEntries(
      readdirSync(join(fixtures, 'specs/sparse/profiles')).map((f) => [
        f.replace(/\.json$/, ''),
        read(`profiles/${f}`),
      ]),
    );
    const off = read('topology.json');
    delete off.vmlab.console_tcp;
    const q = planFor(writeSpecDir({ topology: off, platforms: read('platforms.json'), profiles }, 'sparse'));
    assert.deepEqual(
      q.nodes.map((n) => [n.sshPort, n.nics.map((x) => x.backend)]),
      p.nodes.map((n) => [n.sshPort, n.nics.map((x) => x.backend)]),
    );
    assert.deepEqual(
      q.nodes.map((n) => n.consolePort),
      [null, null, null],
    );
  });

  it('refuses a console socket path over the unix socket limit, naming it', () => {
    // 64-character lab name, 8-character node: the QMP path (105 bytes) fits, the console's (109) does not.
    const lab = 'l'.repeat(64);
    const dir = writeSpecDir(
      {
        topology: { devices: { abcdefgh: {} }, vmlab: { name: lab } },
        profiles: { abcdefgh: { vm_image: '/images/base.qcow2' } },
      },
      lab,
    );
    assertIncludes(
      planError(dir),
      `the console socket path /home/user/.vmlab/labs/${lab}/qemu/abcdefgh.console is 109 bytes, over the 107-byte limit of unix sockets`,
    );
  });
});
