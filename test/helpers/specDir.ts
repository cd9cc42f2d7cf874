import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpecFiles {
  topology: unknown;
  platforms?: unknown;
  profiles?: Record<string, unknown>;
  /** Raw text files, written as given (for syntax errors). */
  raw?: Record<string, string>;
}

/** Write a spec directory into a fresh temp dir and return its path. */
export function writeSpecDir(files: SpecFiles, name = 'lab'): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'vmlab-spec-')), name);
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  writeFileSync(join(dir, 'topology.json'), JSON.stringify(files.topology, null, 2));
  if (files.platforms) writeFileSync(join(dir, 'platforms.json'), JSON.stringify(files.platforms, null, 2));
  for (const [node, p] of Object.entries(files.profiles ?? {}))
    writeFileSync(join(dir, 'profiles', `${node}.json`), JSON.stringify(p, null, 4) + '\n');
  for (const [file, text] of Object.entries(files.raw ?? {})) writeFileSync(join(dir, file), text);
  return dir;
}

/** A valid three-node base spec that tests mutate. */
export function baseSpec(image = '/images/base.qcow2'): SpecFiles {
  return {
    topology: {
      devices: {
        r1: { interfaces: { Ethernet0: { link: 'r2:Ethernet0' }, Ethernet12: {} } },
        r2: {},
        r3: {},
      },
      links: [
        { a: 'r1:Ethernet0', z: 'r2:Ethernet0' },
        { a: 'r1:Ethernet8', z: 'r3:eth1' },
      ],
      vmlab: { name: 'sparse' },
    },
    platforms: {
      platforms: {
        vs: {
          vm_image: image,
          vm_memory: 256,
          vm_cpus: 1,
          vm_nic_driver: 'e1000',
          vm_interface_map: 'stride-4',
          vm_credentials: { user: 'admin', pass: 'pw' },
        },
        host: {
          vm_image: image,
          vm_memory: 256,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
        },
      },
    },
    profiles: {
      r1: { platform: 'vs', mgmt_ip: 'PLACEHOLDER' },
      r2: { platform: 'vs' },
      r3: { platform: 'host', ssh_user: 'root' },
    },
  };
}
