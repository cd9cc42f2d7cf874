import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interfaceNameOf, nicIndexOf } from '../../../src/plan/interfaceMap.js';
import type { InterfaceMap } from '../../../src/spec/schema.js';

describe('nicIndexOf', () => {
  const good: Array<[InterfaceMap, string, number]> = [
    ['sequential', 'Ethernet0', 1],
    ['sequential', 'Ethernet3', 4],
    ['stride-4', 'Ethernet0', 1],
    ['stride-4', 'Ethernet8', 3],
    ['stride-4', 'Ethernet124', 32],
    ['linux', 'eth1', 1],
    ['linux', 'eth0', 0],
  ];
  for (const [map, iface, nic] of good)
    it(`${map} ${iface} → NIC ${nic}`, () => assert.deepEqual(nicIndexOf(map, iface), { nic }));

  const bad: Array<[InterfaceMap, string, string]> = [
    ['stride-4', 'Ethernet2', 'not valid under the stride-4 map'],
    ['sequential', 'eth1', 'not an EthernetN name'],
    ['linux', 'Ethernet0', 'not an ethN name'],
    ['custom', 'xe-0/0/0', 'needs vm_interface_map_custom'],
  ];
  for (const [map, iface, error] of bad) {
    it(`${map} rejects ${iface}`, () => {
      const r = nicIndexOf(map, iface);
      assert.ok('error' in r && r.error.includes(error), JSON.stringify(r));
    });
  }

  it('looks custom names up', () => {
    const custom = { 'ge-0/0/0': 1, 'ge-0/0/1': 2 };
    assert.deepEqual(nicIndexOf('custom', 'ge-0/0/1', custom), { nic: 2 });
    assert.equal(interfaceNameOf('custom', 1, custom), 'ge-0/0/0');
    const r = nicIndexOf('custom', 'ge-0/0/9', custom);
    assert.ok('hint' in r && r.hint.includes('known: ge-0/0/0, ge-0/0/1'));
  });

  it('names NICs back', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => interfaceNameOf('stride-4', n)),
      ['mgmt', 'Ethernet0', 'Ethernet4', 'Ethernet8'],
    );
    assert.equal(interfaceNameOf('sequential', 2), 'Ethernet1');
    assert.equal(interfaceNameOf('linux', 2), 'eth2');
  });

  it("numbers a host device's linux interfaces from eth0 (management is kept off it)", () => {
    assert.deepEqual(
      ['eth0', 'eth1', 'eth3'].map((i) => nicIndexOf('linux', i, undefined, true)),
      [{ nic: 1 }, { nic: 2 }, { nic: 4 }],
    );
    assert.deepEqual(
      [0, 1, 2].map((n) => interfaceNameOf('linux', n, undefined, true)),
      ['mgmt', 'eth0', 'eth1'],
    );
    const r = nicIndexOf('linux', 'Ethernet0', undefined, true);
    assert.ok('hint' in r && r.hint === 'use eth0, eth1, …');
  });
});
