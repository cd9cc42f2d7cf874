import type { SpecFiles } from './specDir.js';

/** Node names of a ring: n00, n01, … (sorted as they start). */
export const ringNodes = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i).padStart(2, '0')}`);

/**
 * A ring of `n` tiny guests (128 MiB, 1 vCPU): each node's eth1 to the next
 * node's eth2, the last back to the first (a chain for 2, no link for 1).
 * Ports: links from `base`, consoles from base+100, SSH from base+200.
 */
export function ringSpec(n: number, image: string, name: string, base: number): SpecFiles {
  const names = ringNodes(n);
  const links =
    n < 2 ? [] : names.slice(0, n === 2 ? 1 : n).map((a, i) => ({ a: `${a}:eth1`, z: `${names[(i + 1) % n]}:eth2` }));
  return {
    topology: {
      devices: Object.fromEntries(names.map((x) => [x, {}])),
      links,
      vmlab: { name, link_port_base: base, console_port_base: base + 100, ssh_port_base: base + 200 },
    },
    platforms: {
      platforms: {
        tiny: {
          vm_image: image,
          vm_memory: 128,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
          vm_boot_timeout: 300,
        },
      },
    },
    profiles: Object.fromEntries(names.map((x) => [x, { platform: 'tiny' }])),
  };
}
