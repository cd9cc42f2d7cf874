import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { planFor } from '../../helpers/planFor.js';
import { assertGolden } from '../../helpers/golden.js';
import { packageRoot } from '../../../src/packageRoot.js';
import { ansibleGroup, ansibleInventory, topologyData, topologyDataText } from '../../../src/plan/inventory.js';

const fixtures = join(packageRoot(), 'test', 'fixtures');
const golden = (file: string) => join(fixtures, 'golden', file);
/** Outputs name the spec dir: make them the same on every checkout. */
const portable = (text: string) => text.replaceAll(fixtures, '<fixtures>');

describe('inventory outputs (golden)', () => {
  for (const dir of ['newtron-specs/2node-vs', 'specs/sparse']) {
    const plan = () => planFor(join(fixtures, dir));
    const stem = dir.replace('/', '__');
    it(`${dir}: Ansible inventory`, () =>
      assertGolden(portable(ansibleInventory(plan())), golden(`${stem}.inventory.yml`)));
    it(`${dir}: topology-data.json`, () =>
      assertGolden(portable(topologyDataText(plan())), golden(`${stem}.topology-data.json`)));
  }
});

describe('Ansible inventory', () => {
  it('groups nodes by platform with ansible_host, ansible_port and ansible_user, and no passwords', () => {
    const plan = planFor(join(fixtures, 'newtron-specs/2node-vs'));
    const inv = parse(ansibleInventory(plan)) as {
      all: {
        vars: Record<string, string>;
        children: Record<string, { hosts: Record<string, Record<string, unknown>> }>;
      };
    };
    assert.deepEqual(Object.keys(inv.all.children), ['alpine_host', 'sonic_vs']);
    assert.deepEqual(Object.keys(inv.all.children.alpine_host!.hosts), [
      'host1',
      'host2',
      'host3',
      'host4',
      'host5',
      'host6',
    ]);
    const host1 = plan.nodes.find((n) => n.name === 'host1')!;
    assert.deepEqual(inv.all.children.alpine_host!.hosts.host1, {
      ansible_host: '127.0.0.1',
      ansible_port: host1.sshPort,
      ansible_user: 'root',
      vmlab_console_socket: host1.files.console,
      vmlab_platform: 'alpine-host',
      vmlab_device_type: 'host',
    });
    assert.equal(inv.all.vars.ansible_ssh_private_key_file, plan.files.labKey);
    assert.doesNotMatch(ansibleInventory(plan), /password|YourPaSsWoRd/);
  });

  it('makes group names Ansible accepts', () => {
    assert.deepEqual(['sonic-vs', 'alpine.host', '9k', 'ok_1'].map(ansibleGroup), [
      'sonic_vs',
      'alpine_host',
      '_9k',
      'ok_1',
    ]);
  });

  it('puts nodes without a platform under all.hosts', () => {
    const plan = planFor(join(fixtures, 'newtron-specs/2node-vs'));
    plan.nodes[0]!.platform = null;
    const inv = parse(ansibleInventory(plan)) as { all: { hosts: Record<string, unknown> } };
    assert.deepEqual(Object.keys(inv.all.hosts), [plan.nodes[0]!.name]);
  });
});

describe('topology-data.json', () => {
  it("has containerlab's shape: nodes by name with mgmt address and SSH port binding, links with a/z endpoints and MACs", () => {
    const plan = planFor(join(fixtures, 'newtron-specs/2node-vs'));
    const t = topologyData(plan) as any;
    assert.equal(t.name, '2node-vs');
    assert.equal(t.type, 'clab');
    const host1 = plan.nodes.find((n) => n.name === 'host1')!;
    assert.equal(t.nodes.host1['mgmt-ipv4-address'], '127.0.0.1');
    assert.equal(t.nodes.host1['mgmt-intf'], 'mgmt0');
    assert.equal(t.nodes.switch1['mgmt-intf'], 'eth0');
    assert.deepEqual(t.nodes.host1['port-bindings'], [
      { 'host-ip': '127.0.0.1', 'host-port': host1.sshPort, port: 22, protocol: 'tcp' },
    ]);
    assert.equal(t.nodes.host1.labels.containerlab, '2node-vs');
    assert.equal(t.links.length, 9);
    assert.deepEqual(t.links[1], {
      a: {
        node: 'switch1',
        interface: 'Ethernet4',
        mac: plan.nodes.find((n) => n.name === 'switch1')!.nics[5]!.mac,
        peer: 'z',
      },
      z: { node: 'host1', interface: 'eth0', mac: host1.nics[1]!.mac, peer: 'a' },
    });
  });
});
