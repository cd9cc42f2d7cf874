import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSpec } from '../../../src/spec/loadSpec.js';
import { imagePathsOf, planLab, resolveLab, type ImageFacts } from '../../../src/plan/planLab.js';
import type { LabPlan, MgmtNet } from '../../../src/plan/labPlan.js';
import { assertIncludes } from '../../helpers/assertions.js';
import { baseSpec, writeSpecDir, type SpecFiles } from '../../helpers/specDir.js';

/** Plan with or without passt on the "host", every image a cloud image when `cloud`. */
function plan(files: SpecFiles, opts: { passt?: string; cloud?: boolean } = {}): LabPlan {
  const spec = loadSpec(writeSpecDir(files));
  const resolved = resolveLab(spec, '/home/user');
  const image: ImageFacts = opts.cloud ? { format: 'qcow2', cloudInit: { user: 'debian' } } : { format: 'qcow2' };
  return planLab(spec, resolved, {
    home: '/home/user',
    root: '/home/user/.vmlab',
    accel: 'tcg',
    qemuBinary: 'qemu-system-x86_64',
    ...(opts.passt ? { passt: opts.passt } : {}),
    images: Object.fromEntries(imagePathsOf(resolved).map((p) => [p, image])),
  });
}

const netOf = (p: LabPlan, name: string): MgmtNet => {
  const b = p.nodes.find((n) => n.name === name)!.nics[0]!.backend;
  assert.equal(b.kind, 'user');
  return (b as { net: MgmtNet }).net;
};
const argvOf = (p: LabPlan, name: string) => p.nodes.find((n) => n.name === name)!.argv.join(' ');

/** baseSpec with changes to platforms, profiles and the topology's vmlab section. */
function spec(change: (s: SpecFiles & { topology: { vmlab: Record<string, unknown> } }) => void): SpecFiles {
  const s = baseSpec() as SpecFiles & { topology: { vmlab: Record<string, unknown> } };
  change(s);
  return s;
}
const platform = (s: SpecFiles, name: string) =>
  (s.platforms as { platforms: Record<string, Record<string, unknown>> }).platforms[name]!;

describe('management network', () => {
  it('is isolated by default: restrict=on with the SSH forward, and no warning', () => {
    const p = plan(baseSpec(), { passt: '/usr/bin/passt' });
    for (const n of ['r1', 'r2', 'r3']) {
      assert.deepEqual(netOf(p, n), { mode: 'isolated' });
      assertIncludes(argvOf(p, n), '-netdev user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:');
      assert.doesNotMatch(argvOf(p, n), /stream,id=mgmt|passt/);
    }
    assert.deepEqual(p.warnings, []);
  });

  it('cascades profile > platform > lab setting', () => {
    const s = spec((s) => {
      s.topology.vmlab.mgmt_egress = true;
      platform(s, 'host').vm_mgmt_egress = false; // r3
      s.profiles!.r2 = { platform: 'vs', vm_mgmt_egress: false };
    });
    const p = plan(s, { passt: '/usr/bin/passt' });
    assert.equal(netOf(p, 'r1').mode, 'passt');
    assert.equal(netOf(p, 'r2').mode, 'isolated');
    assert.equal(netOf(p, 'r3').mode, 'isolated');
    const s2 = spec((s) => {
      platform(s, 'host').vm_mgmt_egress = true;
      s.profiles!.r3 = { platform: 'host', ssh_user: 'root', vm_mgmt_egress: false };
    });
    const p2 = plan(s2, { passt: '/usr/bin/passt' });
    assert.deepEqual(
      ['r1', 'r2', 'r3'].map((n) => netOf(p2, n).mode),
      ['isolated', 'isolated', 'isolated'],
    );
    platform(s2, 'vs').vm_mgmt_egress = true;
    assert.deepEqual(
      ['r1', 'r2', 'r3'].map((n) => netOf(plan(s2, { passt: '/usr/bin/passt' }), n).mode),
      ['passt', 'passt', 'isolated'],
    );
  });

  it('with egress and passt: a stream netdev to passt, which never maps the gateway to host loopback', () => {
    const p = plan(
      spec((s) => (s.topology.vmlab.mgmt_egress = true)),
      { passt: '/usr/bin/passt' },
    );
    const net = netOf(p, 'r1');
    assert.equal(net.mode, 'passt');
    if (net.mode !== 'passt') return;
    const r1 = p.nodes.find((n) => n.name === 'r1')!;
    assert.equal(net.socket, '/home/user/.vmlab/labs/sparse/qemu/r1.net');
    assert.equal(
      Buffer.byteLength(net.socket),
      Buffer.byteLength(r1.files.qmp),
      'as long as the QMP path, which the planner checks',
    );
    assert.equal(net.argv[0], '/usr/bin/passt');
    for (const a of ['--no-map-gw', '--one-off', '--ipv4-only']) assert.ok(net.argv.includes(a), a);
    const arg = (flag: string) => net.argv[net.argv.indexOf(flag) + 1];
    assert.equal(arg('--tcp-ports'), `127.0.0.1/${r1.sshPort}:22`);
    assert.equal(arg('--udp-ports'), 'none');
    assert.equal(arg('--socket'), net.socket);
    assert.equal(arg('--address'), '10.0.2.15');
    assert.equal(arg('--gateway'), '10.0.2.2');
    const argv = argvOf(p, 'r1');
    assertIncludes(argv, `-netdev stream,id=mgmt,server=off,addr.type=unix,addr.path=${net.socket}`);
    // A snapshot saved under user net still loads: its slirp state has an (unconnected, restricted) home.
    assertIncludes(argv, '-netdev user,id=mgmtslirp,restrict=on');
    assert.doesNotMatch(argv, /hostfwd/);
    assert.deepEqual(p.warnings, []);
  });

  it('with egress but no passt: unrestricted user net and a warning that names host loopback', () => {
    const p = plan(spec((s) => (platform(s, 'host').vm_mgmt_egress = true)));
    assert.equal(netOf(p, 'r3').mode, 'nat');
    assert.match(argvOf(p, 'r3'), /-netdev user,id=mgmt,hostfwd=tcp:127\.0\.0\.1:\d+-:22/);
    assert.equal(p.warnings.length, 1);
    assertIncludes(
      p.warnings[0]!,
      'r3: management egress (platforms.json platforms.host.vm_mgmt_egress) without passt',
    );
    assertIncludes(p.warnings[0]!, "reaches the host's loopback");
    assertIncludes(p.warnings[0]!, 'apt-get install passt');
  });

  it('warns when cloud-init would install packages on an isolated node, naming the setting', () => {
    const s = spec((s) => {
      s.profiles!.r1 = { platform: 'vs', cloud_init: { packages: ['tcpdump'], package_update: true } };
      s.profiles!.r2 = { platform: 'vs', cloud_init: { package_upgrade: true }, vm_mgmt_egress: false };
      s.profiles!.r3 = { platform: 'host', cloud_init: { packages: ['curl'] }, vm_mgmt_egress: true };
    });
    const p = plan(s, { cloud: true, passt: '/usr/bin/passt' });
    assert.equal(p.warnings.length, 2, p.warnings.join('\n'));
    assertIncludes(p.warnings[0]!, 'r1: cloud_init packages, package_update need the network');
    assertIncludes(p.warnings[0]!, '"vm_mgmt_egress": true');
    assertIncludes(p.warnings[1]!, 'r2: cloud_init package_upgrade need the network');
    assertIncludes(p.warnings[1]!, 'profiles/r2.json vm_mgmt_egress is false');
    // Not a cloud image: no seed, so nothing would be installed.
    assert.deepEqual(plan(s, { passt: '/usr/bin/passt' }).warnings, []);
  });

  it('refuses a non-boolean setting as a spec error', () => {
    assert.throws(() => plan(spec((s) => (s.topology.vmlab.mgmt_egress = 'yes'))), /topology\.json.*mgmt_egress/s);
    assert.throws(() => plan(spec((s) => (platform(s, 'vs').vm_mgmt_egress = 1))), /platforms\.json.*vm_mgmt_egress/s);
  });
});
