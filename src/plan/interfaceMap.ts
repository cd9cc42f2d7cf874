import type { InterfaceMap } from '../spec/schema.js';

export type NicLookup = { nic: number } | { error: string; hint: string };

const ETHERNET = /^Ethernet(\d+)$/;
const LINUX = /^eth(\d+)$/;

/**
 * The QEMU NIC index of an interface name under an interface map.
 * NIC 0 is always management, so data interfaces start at NIC 1
 * (`linux`: ethN is NIC N, eth0 being management itself; on a host device
 * (`"device_type": "host"`) management is kept off eth0, so ethN is NIC N+1).
 */
export function nicIndexOf(map: InterfaceMap, iface: string, custom?: Record<string, number>, host = false): NicLookup {
  switch (map) {
    case 'sequential': {
      const m = ETHERNET.exec(iface);
      if (!m)
        return {
          error: `"${iface}" is not an EthernetN name, which the sequential map needs`,
          hint: 'use Ethernet0, Ethernet1, …',
        };
      return { nic: Number(m[1]) + 1 };
    }
    case 'stride-4': {
      const m = ETHERNET.exec(iface);
      const n = m ? Number(m[1]) : NaN;
      if (!m || n % 4 !== 0) {
        return {
          error: `"${iface}" is not valid under the stride-4 map (EthernetN with N a multiple of 4)`,
          hint: 'use Ethernet0, Ethernet4, Ethernet8, …, or set the platform\'s vm_interface_map to "sequential"',
        };
      }
      return { nic: n / 4 + 1 };
    }
    case 'linux': {
      const m = LINUX.exec(iface);
      if (!m)
        return {
          error: `"${iface}" is not an ethN name, which the linux map needs`,
          hint: host ? 'use eth0, eth1, …' : 'use eth1, eth2, …',
        };
      return { nic: Number(m[1]) + (host ? 1 : 0) };
    }
    case 'custom': {
      if (!custom)
        return {
          error: 'the custom map needs vm_interface_map_custom',
          hint: 'add "vm_interface_map_custom": {"<interface>": <NIC index ≥ 1>, …} to the platform',
        };
      const nic = custom[iface];
      if (nic === undefined)
        return {
          error: `"${iface}" is not in vm_interface_map_custom`,
          hint:
            `add "${iface}": <NIC index> to vm_interface_map_custom ` +
            `(known: ${Object.keys(custom).join(', ') || 'none'})`,
        };
      return { nic };
    }
  }
}

/** Interface name that a NIC index carries under a map, for display ("" when unknown). */
export function interfaceNameOf(map: InterfaceMap, nic: number, custom?: Record<string, number>, host = false): string {
  if (nic === 0) return 'mgmt';
  switch (map) {
    case 'sequential':
      return `Ethernet${nic - 1}`;
    case 'stride-4':
      return `Ethernet${(nic - 1) * 4}`;
    case 'linux':
      return `eth${host ? nic - 1 : nic}`;
    case 'custom':
      return Object.entries(custom ?? {}).find(([, v]) => v === nic)?.[0] ?? '';
  }
}
