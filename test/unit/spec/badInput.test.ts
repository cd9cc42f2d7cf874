import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseSpec, writeSpecDir, type SpecFiles } from '../../helpers/specDir.js';
import { planError } from '../../helpers/planFor.js';
import { assertIncludes } from '../../helpers/assertions.js';

type Topo = { devices: Record<string, any>; links?: any[]; vmlab?: any; newtlab?: any };
const mutate = (fn: (s: SpecFiles & { topology: Topo }) => void): string => {
  const s = baseSpec() as SpecFiles & { topology: Topo };
  fn(s);
  return writeSpecDir(s);
};

/**
 * One case per kind of bad input: the exact message names the file, the
 * JSON path, what is wrong and the fix.
 */
const cases: Array<[string, () => string, string[]]> = [
  [
    'invalid JSON, with line and column',
    () =>
      writeSpecDir({
        ...baseSpec(),
        raw: { 'topology.json': '{\n  "devices": {\n    "r1": {}\n    "r2": {}\n  }\n}\n' },
      }),
    ['topology.json: invalid JSON at line 4, column 5: expected a comma'],
  ],
  [
    'unknown device in a link',
    () => mutate((s) => (s.topology.links![1].z = 'r9:eth1')),
    ['topology.json: links[1].z: unknown device "r9"', 'fix: use one of: r1, r2, r3, or add "r9" to devices'],
  ],
  [
    'an interface used twice',
    () => mutate((s) => s.topology.links!.push({ a: 'r2:Ethernet0', z: 'r3:eth2' })),
    ['topology.json: links[2].a: interface r2:Ethernet0 is already used by links[0].z'],
  ],
  [
    'interface name not valid for the map',
    () => mutate((s) => (s.topology.links![1].a = 'r1:Ethernet2')),
    [
      'topology.json: links[1].a: r1:Ethernet2: "Ethernet2" is not valid under the stride-4 map (EthernetN with N a multiple of 4)',
    ],
  ],
  [
    'unknown platform',
    () => mutate((s) => ((s.profiles!.r2 as any).platform = 'sonic')),
    ['profiles/r2.json: platform: unknown platform "sonic"', 'fix: use one of: vs, host (from platforms.json)'],
  ],
  [
    'missing image file',
    () => mutate(() => undefined),
    ['platforms.json: platforms.vs.vm_image: image file not found: /images/base.qcow2'],
  ],
  [
    'device name with a slash',
    () => mutate((s) => (s.topology.devices['r/4'] = {})),
    ['topology.json: devices["r/4"]: device name "r/4" is not valid', 'letters, digits'],
  ],
  [
    'lab name with a space',
    () => mutate((s) => (s.topology.vmlab.name = 'my lab')),
    ['topology.json: vmlab.name: lab name "my lab" is not valid'],
  ],
  [
    'port overflow',
    () => mutate((s) => (s.topology.vmlab.ssh_port_base = 65534)),
    ['topology.json: vmlab.ssh_port_base: SSH of r3 would get port 65536, above 65535'],
  ],
  [
    'port collision',
    () => mutate((s) => (s.topology.vmlab.console_port_base = 40001)),
    ['topology.json: vmlab.ssh_port_base: port 40001 is used twice: the console of r1 and SSH of r2'],
  ],
  [
    'a wrong type',
    () => mutate((s) => ((s.platforms as any).platforms.vs.vm_memory = '256')),
    ['platforms.json: platforms.vs.vm_memory: expected number, got string "256"'],
  ],
  [
    'a node linked to itself',
    () => mutate((s) => (s.topology.links![1].z = 'r1:Ethernet4')),
    ['topology.json: links[1]: links r1 to itself (r1:Ethernet8 ↔ r1:Ethernet4)'],
  ],
  [
    'links array and interfaces disagree',
    () => mutate((s) => (s.topology.devices.r1.interfaces.Ethernet0.link = 'r3:eth1')),
    [
      'topology.json: devices.r1.interfaces.Ethernet0.link: says r1:Ethernet0 links to r3:eth1, but "links" wires it to r2:Ethernet0',
    ],
  ],
  [
    'the management NIC wired',
    () => mutate((s) => (s.topology.links![1].z = 'r3:eth0')),
    [
      'topology.json: links[1].z: r3:eth0 is the management interface (NIC 0) under the linux map',
      'fix: wire a data interface instead (eth1 or above)',
    ],
  ],
  [
    'a QEMU option smuggled into the NIC driver',
    () => mutate((s) => ((s.platforms as any).platforms.vs.vm_nic_driver = 'e1000,romfile=/etc/shadow')),
    [
      'platforms.json: platforms.vs.vm_nic_driver: expected a QEMU device name such as e1000 or virtio-net-pci, got "e1000,romfile=/etc/shadow"',
    ],
  ],
  [
    'an undefined secret',
    () => mutate((s) => ((s.profiles!.r2 as any).ssh_pass = '${secret:r2_pass}')),
    ['profiles/r2.json: ssh_pass: secret "r2_pass" is not defined'],
  ],
  [
    'a device without a profile or image',
    () => mutate((s) => delete s.profiles!.r2),
    ['profiles/r2.json: device "r2" has no profile, so no platform and no vm_image', 'fix: create profiles/r2.json'],
  ],
  [
    'an enum value not in the list (every enum field says what was given)',
    () => mutate((s) => ((s.platforms as any).platforms.vs.vm_interface_map = 'zigzag')),
    [
      'platforms.json: platforms.vs.vm_interface_map: expected one of sequential, stride-4, linux, custom; got "zigzag"',
    ],
  ],
  [
    'the disk bus enum',
    () => mutate((s) => ((s.profiles!.r2 as any).vm_disk_bus = 'scsi')),
    ['profiles/r2.json: vm_disk_bus: expected one of virtio, ide; got "scsi"'],
  ],
  [
    'the link transport enum',
    () => mutate((s) => (s.topology.vmlab.link_transport = 'sctp')),
    ['topology.json: vmlab.link_transport: expected one of tcp, udp; got "sctp"'],
  ],
  [
    'an enum given a number',
    () => mutate((s) => ((s.profiles!.r2 as any).vm_interface_map = 4)),
    ['profiles/r2.json: vm_interface_map: expected one of sequential, stride-4, linux, custom; got 4'],
  ],
  [
    'a fraction where a whole number goes',
    () => mutate((s) => ((s.profiles!.r2 as any).vm_cpus = 1.5)),
    ['profiles/r2.json: vm_cpus: expected a whole number, got number 1.5'],
  ],
  [
    'a port above 65535',
    () => mutate((s) => (s.topology.vmlab.ssh_port_base = 70000)),
    ['topology.json: vmlab.ssh_port_base: expected a number ≤ 65535, got 70000'],
  ],
  [
    'a boolean given as text',
    () => mutate((s) => ((s.profiles!.r2 as any).cloud_init = { ssh_import_user_keys: 'yes' })),
    ['profiles/r2.json: cloud_init.ssh_import_user_keys: expected boolean (true or false), got string "yes"'],
  ],
  [
    'an interface that is neither object nor null',
    () => mutate((s) => (s.topology.devices.r1.interfaces.Ethernet12 = 3)),
    ['topology.json: devices.r1.interfaces.Ethernet12: expected object or null, got number 3'],
  ],
  [
    'a wrong type inside an interface',
    () => mutate((s) => (s.topology.devices.r1.interfaces.Ethernet0.link = 5)),
    ['topology.json: devices.r1.interfaces.Ethernet0.link: expected string, got number 5'],
  ],
  [
    'a list where an object goes',
    () => mutate((s) => (s.topology.devices = [] as any)),
    ['topology.json: devices: expected object, got array'],
  ],
  [
    'a missing required field',
    () => mutate((s) => delete (s.topology as any).devices),
    ['topology.json: devices: missing: expected object'],
  ],
  [
    'a password of the wrong type is not echoed',
    () => mutate((s) => ((s.profiles!.r2 as any).ssh_pass = 123456)),
    ['profiles/r2.json: ssh_pass: expected string, got number (value hidden)'],
  ],
  [
    'an endpoint without a colon',
    () => mutate((s) => (s.topology.links![0].a = 'r1')),
    ['topology.json: links[0].a: "r1" is not an endpoint'],
  ],
];

describe('bad input is reported with file, JSON path and fix', () => {
  for (const [name, make, expected] of cases) {
    it(name, () => {
      const images = (p: string) =>
        p === '/images/base.qcow2' && name === 'missing image file'
          ? { problem: 'image file not found' }
          : { format: 'qcow2' };
      const message = planError(make(), images);
      for (const e of expected) assertIncludes(message, e);
    });
  }

  it('never echoes a password', () => {
    const message = planError(mutate((s) => ((s.profiles!.r2 as any).ssh_pass = 24681357)));
    assertIncludes(message, 'profiles/r2.json: ssh_pass: expected string');
    assert.doesNotMatch(message, /24681357/);
  });

  it('reports every problem of a file at once', () => {
    const dir = mutate((s) => {
      (s.platforms as any).platforms.vs.vm_cpus = 0;
      (s.platforms as any).platforms.host.vm_memory = -1;
    });
    const message = planError(dir);
    assert.match(message, /^2 problems in the spec:/);
    assertIncludes(message, 'platforms.json: platforms.vs.vm_cpus: expected a number > 0, got 0');
    assertIncludes(message, 'platforms.json: platforms.host.vm_memory: expected a number > 0, got -1');
  });
});
