import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planError, planFor } from '../../helpers/planFor.js';
import type { LabPlan } from '../../../src/plan/labPlan.js';

const fixtures = resolve(__dirname, '../../fixtures');
/** Plans hold absolute spec paths: make them the same on every checkout. */
const portable = (plan: LabPlan) => JSON.stringify(plan, null, 2).replaceAll(fixtures, '<fixtures>') + '\n';

describe('planLab golden plans', () => {
  it.each(['specs/sparse', 'newtron-specs/2node', 'newtron-specs/4node'])('%s', async (dir) => {
    const plan = planFor(join(fixtures, dir));
    await expect(portable(plan)).toMatchFileSnapshot(join(fixtures, 'golden', `${dir.replace('/', '__')}.plan.json`));
  });
});

describe('planLab', () => {
  const sparse = () => planFor(join(fixtures, 'specs/sparse'));

  it('gives sparse wiring placeholder NICs so interface N is always NIC N', () => {
    const r1 = sparse().nodes.find((n) => n.name === 'r1')!;
    expect(r1.nics.map((n) => [n.index, n.iface, n.backend.kind])).toEqual([
      [0, 'mgmt', 'user'],
      [1, 'Ethernet0', 'tcp-listen'],
      [2, 'Ethernet4', 'unwired'],
      [3, 'Ethernet8', 'tcp-listen'],
    ]);
    // A listed but unwired interface still gets its NIC; Loopback0 is no NIC.
    const r2 = sparse().nodes.find((n) => n.name === 'r2')!;
    expect(r2.nics.map((n) => n.iface)).toEqual(['mgmt', 'Ethernet0', 'Ethernet4', 'Ethernet8', 'Ethernet12']);
    const r3 = sparse().nodes.find((n) => n.name === 'r3')!;
    expect(r3.nics.map((n) => [n.iface, n.backend.kind])).toEqual([
      ['mgmt', 'user'],
      ['eth1', 'unwired'],
      ['eth2', 'tcp-connect'],
    ]);
  });

  it('allocates ports by sorted node index and link index', () => {
    const p = sparse();
    expect(p.nodes.map((n) => [n.name, n.consolePort, n.sshPort])).toEqual([
      ['r1', 32000, 42000],
      ['r2', 32001, 42001],
      ['r3', 32002, 42002],
    ]);
    expect(p.links.map((l) => [l.port, l.listener])).toEqual([
      [22000, 'a'],
      [22001, 'a'],
    ]);
  });

  it('emits the NICs in index order in the argv, mgmt first, with deterministic MACs', () => {
    const r1 = sparse().nodes[0]!;
    const devices = r1.argv.filter((_, i) => r1.argv[i - 1] === '-device');
    expect(devices).toEqual(r1.nics.map((n) => `e1000,netdev=${n.index === 0 ? 'mgmt' : `nic${n.index}`},mac=${n.mac}`));
    expect(sparse().nodes[0]!.nics.map((n) => n.mac)).toEqual(r1.nics.map((n) => n.mac));
    expect(new Set(sparse().nodes.flatMap((n) => n.nics.map((x) => x.mac))).size).toBe(12);
  });

  it('binds every listener to 127.0.0.1 and uses TCG with -cpu max', () => {
    const argv = sparse().nodes.flatMap((n) => n.argv).join(' ');
    expect(argv).toContain('hostfwd=tcp:127.0.0.1:42000-:22');
    expect(argv).toContain('listen=127.0.0.1:22000');
    expect(argv).toContain('socket,id=console,host=127.0.0.1,port=32000');
    expect(argv).not.toMatch(/0\.0\.0\.0/);
    expect(argv).toContain('-cpu max');
    expect(argv).toContain('q35,accel=tcg');
  });

  it('resolves profile > platform > default', () => {
    const p = sparse();
    expect(p.nodes.find((n) => n.name === 'r2')!.memoryMb).toBe(320);
    expect(p.nodes.find((n) => n.name === 'r1')!.memoryMb).toBe(256);
    expect(p.nodes[0]!.image.path).toBe('/home/user/.vmlab/images/vmlab-tiny.qcow2');
  });

  it('patches profiles keeping every other byte', () => {
    const r1 = sparse().profiles.find((p) => p.node === 'r1')!;
    expect(r1.after).toBe('{\n    "platform": "vs",\n    "mgmt_ip": "127.0.0.1",\n    "loopback_ip": "10.0.0.1",\n    "ssh_port": 42000,\n    "console_port": 32000\n}\n');
    const r3 = sparse().profiles.find((p) => p.node === 'r3')!;
    expect(JSON.parse(r3.after)).toEqual({ platform: 'host', mgmt_ip: '127.0.0.1', ssh_port: 42002, console_port: 32002 });
  });

  it('reads the newtron 2node-vs spec and refuses its hosts wired on eth0 (the management NIC)', () => {
    const msg = planError(join(fixtures, 'newtron-specs/2node-vs'));
    expect(msg).toContain('topology.json: links[1].z: host1:eth0 is the management interface (NIC 0) under the linux map');
    expect(msg).toContain('6 problems');
  });

  it('uses UDP ports per endpoint with link_transport udp', async () => {
    const { writeSpecDir, baseSpec } = await import('../../helpers/specDir.js');
    const s = baseSpec();
    (s.topology as any).vmlab.link_transport = 'udp';
    const p = planFor(writeSpecDir(s));
    expect(p.links.map((l) => [l.port, l.zPort])).toEqual([
      [20000, 20001],
      [20002, 20003],
    ]);
    expect(p.nodes[0]!.argv.join(' ')).toContain('socket,id=link1,udp=127.0.0.1:20001,localaddr=127.0.0.1:20000');
  });
});
