import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planError, planFor } from '../../helpers/planFor.js';
import { assertIncludes } from '../../helpers/assertions.js';
import { writeSpecDir, type SpecFiles } from '../../helpers/specDir.js';
import type { LabPlan, NodePlan } from '../../../src/plan/labPlan.js';

/**
 * r1, r2 on host a; r3 on host b.
 *   r1:eth1 ── r2:eth1   same host (a)
 *   r1:eth2 ── r3:eth1   cross: A (r1, host a) listens
 *   r3:eth2 ── r2:eth2   cross: A (r3, host b) listens
 */
function spec(
  over: { hosts?: unknown; transport?: 'tcp' | 'udp'; profiles?: Record<string, unknown>; consoleTcp?: boolean } = {},
): SpecFiles {
  return {
    topology: {
      devices: { r1: {}, r2: {}, r3: {} },
      links: [
        { a: 'r1:eth1', z: 'r2:eth1' },
        { a: 'r1:eth2', z: 'r3:eth1' },
        { a: 'r3:eth2', z: 'r2:eth2' },
      ],
      vmlab: {
        name: 'mh',
        link_port_base: 31000,
        console_port_base: 31100,
        ssh_port_base: 31200,
        ...(over.transport ? { link_transport: over.transport } : {}),
        ...(over.consoleTcp ? { console_tcp: true } : {}),
        hosts: over.hosts ?? { a: '10.231.0.1', b: 'admin@10.231.0.2' },
      },
    },
    platforms: { platforms: { p: { vm_image: 'tiny', vm_interface_map: 'linux', vm_memory: 128 } } },
    profiles: over.profiles ?? {
      r1: { platform: 'p', vm_host: 'a', mgmt_ip: 'PLACEHOLDER' },
      r2: { platform: 'p', vm_host: 'a' },
      r3: { platform: 'p', vm_host: 'b' },
    },
  };
}

const images = () => ({ format: 'qcow2', path: '/lib/tiny.qcow2' });
const plan = (files: SpecFiles, host?: string) => planFor(writeSpecDir(files, 'mh'), images, host);
const node = (p: LabPlan, name: string) => p.nodes.find((n) => n.name === name)!;
const nic = (n: NodePlan, i: number) => n.nics.find((x) => x.index === i)!;
const relayListen = (n: NodePlan) => {
  const b = nic(n, 0).backend;
  return b.kind === 'user' && b.net?.mode === 'isolated' ? b.net.relay?.listen : undefined;
};

describe('multi-host planning', () => {
  it("plans only the host's own nodes, with the ports of the one global allocation", () => {
    const a = plan(spec(), 'a');
    const b = plan(spec(), 'b');
    assert.deepEqual(
      a.nodes.map((n) => n.name),
      ['r1', 'r2'],
    );
    assert.deepEqual(
      b.nodes.map((n) => n.name),
      ['r3'],
    );
    assert.equal(a.host, 'a');
    assert.deepEqual(a.remote, [
      { name: 'r3', host: 'b', mgmtIp: '10.231.0.2', sshPort: 31202, consolePort: null, platform: 'p' },
    ]);
    assert.deepEqual(plan(spec({ consoleTcp: true }), 'a').remote![0]!.consolePort, 31102);
    assert.deepEqual(
      b.remote!.map((r) => [r.name, r.host, r.sshPort]),
      [
        ['r1', 'a', 31200],
        ['r2', 'a', 31201],
      ],
    );
    // Every host computes the same ports, MACs and links.
    const all = [...a.nodes, ...b.nodes].map((n) => [n.name, n.sshPort, n.consolePort, n.nics.map((x) => x.mac)]);
    const single = planFor(
      writeSpecDir(
        {
          ...spec(),
          topology: {
            ...(spec().topology as object),
            vmlab: { name: 'mh', link_port_base: 31000, console_port_base: 31100, ssh_port_base: 31200 },
          },
          profiles: { r1: { platform: 'p' }, r2: { platform: 'p' }, r3: { platform: 'p' } },
        },
        'mh',
      ),
      images,
    );
    assert.deepEqual(
      all,
      single.nodes.map((n) => [n.name, n.sshPort, n.consolePort, n.nics.map((x) => x.mac)]),
    );
    assert.deepEqual(a.links, b.links);
    assert.deepEqual(a.startOrder, ['r1', 'r2']);
  });

  it("isolates a node reached on its host's address too: QEMU forwards on 127.0.0.1, a relay on the host address", () => {
    // restrict=on withholds the default route: the guest answers only on-link
    // sources, so SSH from other machines comes through the relay (from 10.0.2.2).
    const a = plan(spec(), 'a');
    for (const n of a.nodes) {
      const b = nic(n, 0).backend;
      const files = `/home/user/.vmlab/labs/mh`;
      assert.deepEqual(b, {
        kind: 'user',
        sshPort: n.sshPort,
        bind: '10.231.0.1',
        net: {
          mode: 'isolated',
          relay: {
            listen: '10.231.0.1',
            pidFile: `${files}/qemu/${n.name}.relay.pid`,
            log: `${files}/logs/${n.name}.relay.log`,
          },
        },
      });
      assert.ok(n.argv.includes('user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:0-:22'), n.argv.join(' '));
      assert.ok(!n.argv.join(' ').includes('hostfwd=tcp:10.231.0.1'), n.argv.join(' '));
    }
    assert.deepEqual(
      a.warnings.filter((w) => /isolated|10\.0\.2\.2/.test(w)),
      [],
    );
    // With egress, passt forwards on the host address itself (its guest has a default route).
    const egress = plan(
      spec({
        profiles: {
          r1: { platform: 'p', vm_host: 'a', vm_mgmt_egress: true },
          r2: { platform: 'p', vm_host: 'a' },
          r3: { platform: 'p', vm_host: 'b' },
        },
      }),
      'a',
    );
    assert.notEqual((nic(node(egress, 'r1'), 0).backend as { net: { mode: string } }).net.mode, 'isolated');
  });

  it("keeps same-host links on UNIX sockets; a cross-host A listens on its host's address and Z connects to it", () => {
    const a = plan(spec(), 'a');
    const b = plan(spec(), 'b');
    const sock = (n: string, i: number) => `/home/user/.vmlab/labs/mh/qemu/${n}.nic${i}`;
    assert.deepEqual(nic(node(a, 'r1'), 1).backend, { kind: 'unix-listen', path: sock('r1', 1) });
    assert.deepEqual(nic(node(a, 'r2'), 1).backend, { kind: 'unix-connect', path: sock('r1', 1) });
    assert.deepEqual(
      a.links.map((l) => l.socket),
      ['unix', 'inet', 'inet'],
    );
    assert.deepEqual(nic(node(a, 'r1'), 2).backend, { kind: 'tcp-listen', host: '10.231.0.1', port: 31001 });
    assert.deepEqual(nic(node(b, 'r3'), 1).backend, { kind: 'tcp-connect', host: '10.231.0.1', port: 31001 });
    assert.equal(nic(node(b, 'r3'), 1).peerHost, 'a');
    assert.equal(nic(node(a, 'r1'), 1).peerHost, undefined);
    assert.deepEqual(nic(node(b, 'r3'), 2).backend, { kind: 'tcp-listen', host: '10.231.0.2', port: 31002 });
    assert.deepEqual(nic(node(a, 'r2'), 2).backend, { kind: 'tcp-connect', host: '10.231.0.2', port: 31002 });
    // A remote listener is waited for by port, not by start order.
    assert.deepEqual(node(a, 'r2').after, ['r1']);
    assert.deepEqual(node(b, 'r3').after, []);
    const argv = node(b, 'r3').argv.join(' ');
    assertIncludes(argv, 'connect=10.231.0.1:31001');
    assertIncludes(argv, 'listen=10.231.0.2:31002');
    // SSH: QEMU on loopback, the relay on the host's address (above).
    assertIncludes(argv, 'hostfwd=tcp:127.0.0.1:0-:22');
    assert.equal(relayListen(node(b, 'r3')), '10.231.0.2');
    // The console stays a private unix socket on each host; TCP on loopback only with console_tcp.
    assertIncludes(argv, 'socket,id=console,path=/home/user/.vmlab/labs/mh/qemu/r3.console,server=on');
    assertIncludes(
      node(plan(spec({ consoleTcp: true }), 'b'), 'r3').argv.join(' '),
      'socket,id=console,host=127.0.0.1,port=31102',
    );
    assert.doesNotMatch([...a.nodes, ...b.nodes].flatMap((n) => n.argv).join(' '), /0\.0\.0\.0/);
  });

  it('binds wider only when hosts says so', () => {
    const b = plan(spec({ hosts: { a: '10.231.0.1', b: { address: 'lab-b.example', listen: '0.0.0.0' } } }), 'b');
    assert.deepEqual(nic(node(b, 'r3'), 2).backend, { kind: 'tcp-listen', host: '0.0.0.0', port: 31002 });
    assert.equal(relayListen(node(b, 'r3')), '0.0.0.0');
    assertIncludes(node(b, 'r3').argv.join(' '), 'hostfwd=tcp:127.0.0.1:0-:22');
    assert.equal(node(b, 'r3').mgmtIp, 'lab-b.example');
  });

  it('runs UDP links across hosts: each side binds its own address and sends to the peer host', () => {
    const a = plan(spec({ transport: 'udp' }), 'a');
    const b = plan(spec({ transport: 'udp' }), 'b');
    // The same-host link: datagram sockets in the lab's qemu/ dir, no port.
    assert.deepEqual(nic(node(a, 'r1'), 1).backend, {
      kind: 'unix-dgram',
      path: '/home/user/.vmlab/labs/mh/qemu/r1.nic1',
      remotePath: '/home/user/.vmlab/labs/mh/qemu/r2.nic1',
    });
    assert.deepEqual(nic(node(a, 'r1'), 2).backend, {
      kind: 'udp',
      host: '10.231.0.1',
      localPort: 31002,
      remotePort: 31003,
      remoteHost: '10.231.0.2',
    });
    assert.deepEqual(nic(node(b, 'r3'), 1).backend, {
      kind: 'udp',
      host: '10.231.0.2',
      localPort: 31003,
      remotePort: 31002,
      remoteHost: '10.231.0.1',
    });
    assertIncludes(node(b, 'r3').argv.join(' '), 'socket,id=link1,udp=10.231.0.1:31002,localaddr=10.231.0.2:31003');
  });

  it("patches only its own nodes' profiles, with mgmt_ip its host's address", () => {
    const a = plan(spec(), 'a');
    assert.deepEqual(
      a.profiles.map((p) => [p.node, p.set]),
      [
        ['r1', { mgmt_ip: '10.231.0.1', ssh_port: 31200 }],
        ['r2', { mgmt_ip: '10.231.0.1', ssh_port: 31201 }],
      ],
    );
    assert.deepEqual(
      plan(spec({ consoleTcp: true }), 'a').profiles.map((p) => [p.node, p.set.console_port]),
      [
        ['r1', 31100],
        ['r2', 31101],
      ],
    );
    assert.deepEqual(
      plan(spec(), 'b').profiles.map((p) => [p.node, p.set.mgmt_ip]),
      [['r3', '10.231.0.2']],
    );
  });

  it('checks images only for its own nodes, naming the host and the command that gets the image', () => {
    const missing = (path: string) =>
      path === 'library:tiny'
        ? { problem: 'no image "tiny" in the library', hint: 'pull or import it (vmlab images pull tiny)' }
        : images();
    const dir = writeSpecDir(
      {
        ...spec(),
        profiles: {
          r1: { platform: 'p', vm_host: 'a', vm_image: '/abs/r1.qcow2' },
          r2: { platform: 'p', vm_host: 'a', vm_image: '/abs/r2.qcow2' },
          r3: { platform: 'p', vm_host: 'b' },
        },
      },
      'mh',
    );
    assert.equal(planError(dir, missing, 'a'), '');
    const msg = planError(dir, missing, 'b');
    assertIncludes(msg, 'platforms.json: platforms.p.vm_image: no image "tiny" in the library (on host b, for r3)');
    assertIncludes(msg, 'vmlab images pull tiny');
    assertIncludes(msg, '--all-hosts');
  });

  it('refuses bad hosts, placements and --host values, each with the fix', () => {
    const cases: Array<[SpecFiles, string | undefined, string]> = [
      [
        spec(),
        undefined,
        'topology.json: vmlab.hosts: the lab spans hosts (a, b): each host deploys its own nodes\n    fix: run vmlab deploy -S',
      ],
      [spec(), 'c', 'topology.json: vmlab.hosts: --host "c" is not one of the lab\'s hosts\n    fix: use one of: a, b'],
      [
        spec({
          profiles: { r1: { platform: 'p', vm_host: 'a' }, r2: { platform: 'p' }, r3: { platform: 'p', vm_host: 'b' } },
        }),
        'a',
        'profiles/r2.json: vm_host: device "r2" has no vm_host, and the lab spans hosts (a, b)\n    fix: set "vm_host" in profiles/r2.json to one of: a, b',
      ],
      [
        spec({
          profiles: {
            r1: { platform: 'p', vm_host: 'a' },
            r2: { platform: 'p', vm_host: 'x' },
            r3: { platform: 'p', vm_host: 'b' },
          },
        }),
        'a',
        'profiles/r2.json: vm_host: unknown host "x"\n    fix: use one of: a, b (from topology.json vmlab.hosts)',
      ],
      [
        spec({ hosts: { a: '10.0.0.1; rm -rf /', b: '10.0.0.2' } }),
        'a',
        'topology.json: vmlab.hosts.a: "10.0.0.1; rm -rf /" is not an address',
      ],
      [
        spec({ hosts: { a: 'lab-a.example', b: '10.0.0.2' } }),
        'a',
        'topology.json: vmlab.hosts.a: "lab-a.example" is a name, not an IPv4 address',
      ],
      [
        spec({ hosts: { a: { address: '10.0.0.1', listen: 'everywhere' }, b: '10.0.0.2' } }),
        'a',
        'topology.json: vmlab.hosts.a.listen: expected an IPv4 address to bind to, such as "0.0.0.0", got "everywhere"',
      ],
      [
        spec({ hosts: { 'a b': '10.0.0.1', b: '10.0.0.2' } }),
        'a',
        'topology.json: vmlab.hosts.a b: host name "a b" is not valid',
      ],
    ];
    for (const [files, host, expected] of cases)
      assertIncludes(planError(writeSpecDir(files, 'mh'), images, host), expected);
    // vm_host without hosts; --host without hosts.
    const single = { ...spec(), topology: { ...(spec().topology as object), vmlab: { name: 'mh' } } };
    assertIncludes(
      planError(writeSpecDir(single, 'mh'), images),
      'profiles/r1.json: vm_host: runs on host "a", but topology.json vmlab.hosts is not set',
    );
    const none = { ...single, profiles: {} };
    assertIncludes(
      planError(
        writeSpecDir(
          { ...none, profiles: { r1: { platform: 'p' }, r2: { platform: 'p' }, r3: { platform: 'p' } } },
          'mh',
        ),
        images,
        'a',
      ),
      '--host "a" given, but the lab has no hosts',
    );
  });
});
