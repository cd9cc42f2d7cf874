import { describe, expect, it } from 'vitest';
import { interfaceNameOf, nicIndexOf } from '../../../src/plan/interfaceMap.js';

describe('nicIndexOf', () => {
  it.each([
    ['sequential', 'Ethernet0', 1],
    ['sequential', 'Ethernet3', 4],
    ['stride-4', 'Ethernet0', 1],
    ['stride-4', 'Ethernet8', 3],
    ['stride-4', 'Ethernet124', 32],
    ['linux', 'eth1', 1],
    ['linux', 'eth0', 0],
  ] as const)('%s %s → NIC %i', (map, iface, nic) => {
    expect(nicIndexOf(map, iface)).toEqual({ nic });
  });

  it.each([
    ['stride-4', 'Ethernet2', 'not valid under the stride-4 map'],
    ['sequential', 'eth1', 'not an EthernetN name'],
    ['linux', 'Ethernet0', 'not an ethN name'],
    ['custom', 'xe-0/0/0', 'needs vm_interface_map_custom'],
  ] as const)('%s rejects %s', (map, iface, error) => {
    const r = nicIndexOf(map, iface);
    expect('error' in r && r.error).toContain(error);
  });

  it('custom maps look names up', () => {
    const custom = { 'ge-0/0/0': 1, 'ge-0/0/1': 2 };
    expect(nicIndexOf('custom', 'ge-0/0/1', custom)).toEqual({ nic: 2 });
    expect(interfaceNameOf('custom', 1, custom)).toBe('ge-0/0/0');
    const r = nicIndexOf('custom', 'ge-0/0/9', custom);
    expect('hint' in r && r.hint).toContain('known: ge-0/0/0, ge-0/0/1');
  });

  it('names NICs back', () => {
    expect([0, 1, 2, 3].map((n) => interfaceNameOf('stride-4', n))).toEqual(['mgmt', 'Ethernet0', 'Ethernet4', 'Ethernet8']);
    expect(interfaceNameOf('sequential', 2)).toBe('Ethernet1');
    expect(interfaceNameOf('linux', 2)).toBe('eth2');
  });
});
