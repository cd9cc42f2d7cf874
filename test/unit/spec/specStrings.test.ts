import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseSpec, writeSpecDir, type SpecFiles } from '../../helpers/specDir.js';
import { planError, planFor } from '../../helpers/planFor.js';
import { SpecError } from '../../../src/spec/specError.js';
import { loadSpec } from '../../../src/spec/loadSpec.js';

/*
 * Every spec string that reaches ssh_config, an argv (QEMU, ssh,
 * qemu-img), a file name or a cloud-init document is checked at load: one
 * row per field and kind of hostile value, with the exact message (file,
 * JSON path, what was given, what is allowed).
 */

type Any = Record<string, any>;
const spec = (fn: (s: SpecFiles & { platforms: Any; profiles: Any }) => void, raw?: Record<string, string>): string => {
  const s = baseSpec() as SpecFiles & { platforms: Any; profiles: Any };
  fn(s);
  return writeSpecDir(raw ? { ...s, raw } : s);
};
const platform = (fn: (p: Any) => void) => spec((s) => fn(s.platforms.platforms.vs));
const profile = (fn: (p: Any) => void) => spec((s) => fn(s.profiles.r2));
/** r2's ssh_user is `${secret:u}`, and secrets.json says u is `value`. */
const userSecret = (value: string) =>
  spec((s) => (s.profiles.r2.ssh_user = '${secret:u}'), { 'secrets.json': JSON.stringify({ u: value }) });

const USER = 'expected a user name: a letter or "_", then letters, digits, "_", "." or "-", at most 32 characters';
const NIC = 'expected a QEMU device name such as e1000 or virtio-net-pci';
const CPU = 'expected a QEMU CPU model such as max or Haswell';
const FLAGS = 'expected comma-separated CPU flags such as +sse4.2';
const PKG =
  'expected a package name such as "iperf3", "nginx=1.22.1-9" or "@development-tools" (no spaces, no leading "-")';
const IMAGE = 'expected a file path or library image name without control characters';
const LABEL = 'expected text on one line without control characters';
const PASS = 'expected a password on one line (no line breaks or NUL)';

const refused: Array<[string, () => string, string]> = [
  // ssh_config `User …` and ssh's argv.
  [
    'ssh_user with a newline and ProxyCommand',
    () => profile((p) => (p.ssh_user = 'admin\nProxyCommand touch /tmp/x')),
    `profiles/r2.json: ssh_user: ${USER}, got "admin\\nProxyCommand touch /tmp/x"`,
  ],
  [
    'ssh_user with a carriage return',
    () => profile((p) => (p.ssh_user = 'admin\rX')),
    `profiles/r2.json: ssh_user: ${USER}, got "admin\\rX"`,
  ],
  [
    'ssh_user that is an ssh option',
    () => profile((p) => (p.ssh_user = '-oProxyCommand=touch')),
    `profiles/r2.json: ssh_user: ${USER}, got "-oProxyCommand=touch"`,
  ],
  [
    'ssh_user with a space',
    () => profile((p) => (p.ssh_user = 'admin ProxyCommand')),
    `profiles/r2.json: ssh_user: ${USER}, got "admin ProxyCommand"`,
  ],
  [
    'ssh_user with a quote',
    () => profile((p) => (p.ssh_user = 'a"b')),
    `profiles/r2.json: ssh_user: ${USER}, got "a\\"b"`,
  ],
  [
    'ssh_user with an ssh_config %-token',
    () => profile((p) => (p.ssh_user = '%d')),
    `profiles/r2.json: ssh_user: ${USER}, got "%d"`,
  ],
  [
    'ssh_user with user@host',
    () => profile((p) => (p.ssh_user = 'root@10.0.0.1')),
    `profiles/r2.json: ssh_user: ${USER}, got "root@10.0.0.1"`,
  ],
  [
    'ssh_user of 33 characters',
    () => profile((p) => (p.ssh_user = 'a'.repeat(33))),
    `profiles/r2.json: ssh_user: ${USER}, got "${'a'.repeat(33)}"`,
  ],
  [
    'vm_credentials.user with a newline',
    () => platform((p) => (p.vm_credentials.user = 'admin\nProxyCommand id')),
    `platforms.json: platforms.vs.vm_credentials.user: ${USER}, got "admin\\nProxyCommand id"`,
  ],
  [
    'vm_credentials.user that is an option',
    () => platform((p) => (p.vm_credentials.user = '-F/dev/null')),
    `platforms.json: platforms.vs.vm_credentials.user: ${USER}, got "-F/dev/null"`,
  ],
  // Environment (askpass).
  [
    'ssh_pass with a newline, not echoed',
    () => profile((p) => (p.ssh_pass = 'pw\nx')),
    `profiles/r2.json: ssh_pass: ${PASS}, got a value (hidden)`,
  ],
  [
    'vm_credentials.pass with NUL, not echoed',
    () => platform((p) => (p.vm_credentials.pass = 'pw\u0000')),
    `platforms.json: platforms.vs.vm_credentials.pass: ${PASS}, got a value (hidden)`,
  ],
  // QEMU's argv and option parser.
  [
    'vm_nic_driver that starts with "-"',
    () => platform((p) => (p.vm_nic_driver = '-e1000')),
    `platforms.json: platforms.vs.vm_nic_driver: ${NIC}, got "-e1000"`,
  ],
  [
    'vm_nic_driver with a newline',
    () => profile((p) => (p.vm_nic_driver = 'e1000\n')),
    `profiles/r2.json: vm_nic_driver: ${NIC}, got "e1000\\n"`,
  ],
  [
    'vm_cpu_model with a comma',
    () => platform((p) => (p.vm_cpu_model = 'max,pmu=off')),
    `platforms.json: platforms.vs.vm_cpu_model: ${CPU}, got "max,pmu=off"`,
  ],
  [
    'vm_cpu_model that starts with "-"',
    () => profile((p) => (p.vm_cpu_model = '-help')),
    `profiles/r2.json: vm_cpu_model: ${CPU}, got "-help"`,
  ],
  [
    'vm_cpu_features with an option',
    () => platform((p) => (p.vm_cpu_features = '+sse4.2,romfile=/etc/shadow')),
    `platforms.json: platforms.vs.vm_cpu_features: ${FLAGS}, got "+sse4.2,romfile=/etc/shadow"`,
  ],
  [
    'vm_cpu_features with an empty flag',
    () => platform((p) => (p.vm_cpu_features = '+sse4.2,,x')),
    `platforms.json: platforms.vs.vm_cpu_features: ${FLAGS}, got "+sse4.2,,x"`,
  ],
  [
    'vm_cpu_features with "--"',
    () => platform((p) => (p.vm_cpu_features = '--x')),
    `platforms.json: platforms.vs.vm_cpu_features: ${FLAGS}, got "--x"`,
  ],
  [
    'vm_disk_bus outside the list',
    () => profile((p) => (p.vm_disk_bus = 'virtio,file=/etc/passwd')),
    'profiles/r2.json: vm_disk_bus: expected one of virtio, ide; got "virtio,file=/etc/passwd"',
  ],
  // qemu-img's argv and file names.
  [
    'vm_image with NUL',
    () => platform((p) => (p.vm_image = '/images/a\u0000b.qcow2')),
    `platforms.json: platforms.vs.vm_image: ${IMAGE}, got "/images/a\\u0000b.qcow2"`,
  ],
  [
    'vm_image with a newline',
    () => profile((p) => (p.vm_image = 'a\nb.qcow2')),
    `profiles/r2.json: vm_image: ${IMAGE}, got "a\\nb.qcow2"`,
  ],
  // cloud-init documents.
  [
    'a package that is an option',
    () => profile((p) => (p.cloud_init = { packages: ['-oAPT::Get::AllowUnauthenticated=1'] })),
    `profiles/r2.json: cloud_init.packages[0]: ${PKG}, got "-oAPT::Get::AllowUnauthenticated=1"`,
  ],
  [
    'a package with a space',
    () => profile((p) => (p.cloud_init = { packages: ['iperf3', 'curl wget'] })),
    `profiles/r2.json: cloud_init.packages[1]: ${PKG}, got "curl wget"`,
  ],
  [
    'a package with a newline',
    () => profile((p) => (p.cloud_init = { packages: ['curl\n- x'] })),
    `profiles/r2.json: cloud_init.packages[0]: ${PKG}, got "curl\\n- x"`,
  ],
  // Text shown in plans, inventories and graphs.
  [
    'a platform name with a newline',
    () => spec((s) => (s.platforms.platforms['vs\nx'] = {})),
    `platforms.json: platforms["vs\\nx"]: ${LABEL}, got "vs\\nx"`,
  ],
  [
    'profile platform with an escape',
    () => profile((p) => (p.platform = 'vs\u001b[2J')),
    `profiles/r2.json: platform: ${LABEL}, got "vs\\u001b[2J"`,
  ],
  [
    'vm_host with a newline',
    () => profile((p) => (p.vm_host = 'h\n')),
    `profiles/r2.json: vm_host: ${LABEL}, got "h\\n"`,
  ],
  [
    'device_type with a newline',
    () => platform((p) => (p.device_type = 'host\n')),
    `platforms.json: platforms.vs.device_type: ${LABEL}, got "host\\n"`,
  ],
  // Names and endpoints: file names, QEMU ids and ssh_config hosts, or printed; quoted as JSON in the message.
  [
    'a device name with a newline',
    () => spec((s) => ((s.topology as Any).devices['r\nProxyCommand x'] = {})),
    'topology.json: devices["r\\nProxyCommand x"]: device name "r\\nProxyCommand x" is not valid',
  ],
  [
    'an endpoint with a terminal escape',
    () => spec((s) => ((s.topology as Any).links[1].a = 'r1:Ethernet8\u001b[2J')),
    'topology.json: links[1].a: "r1:Ethernet8\\u001b[2J" is not an endpoint',
  ],
  [
    'a lab name with a newline',
    () => spec((s) => ((s.topology as Any).vmlab.name = 'lab\nx')),
    'topology.json: vmlab.name: lab name "lab\\nx" is not valid',
  ],
  // A value from secrets.json is checked like the rest, and never shown.
  [
    'ssh_user from secrets.json with a newline',
    () => userSecret('admin\nProxyCommand touch /tmp/x'),
    `profiles/r2.json: ssh_user: ${USER}, got a value (hidden) (from secret "u" in secrets.json)`,
  ],
];

describe('spec strings are checked at load', () => {
  for (const [name, make, expected] of refused) {
    it(`refuses ${name}`, () => {
      const dir = make();
      let error: unknown;
      try {
        loadSpec(dir);
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof SpecError, `expected a SpecError, got ${String(error)}`);
      assert.equal(error.kind, 'input');
      assert.equal(error.code, 'spec_invalid');
      assert.equal(error.message.split('\n    fix:')[0], expected);
    });
  }

  it('never shows a password or a secret in the message', () => {
    const message = planError(userSecret('zz-hidden\nx'));
    assert.doesNotMatch(message, /zz-hidden/);
    assert.doesNotMatch(planError(profile((p) => (p.ssh_pass = 'qq-hidden\n'))), /qq-hidden/);
  });

  const accepted: Array<[string, () => string]> = [
    ['users as images have them', () => profile((p) => (p.ssh_user = 'cloud-user'))],
    ['a user with "_", "." and digits', () => profile((p) => (p.ssh_user = '_svc.lab-01'))],
    ['a user of 32 characters', () => profile((p) => (p.ssh_user = 'a'.repeat(32)))],
    ['an empty ssh_user (unset: the platform one wins)', () => profile((p) => (p.ssh_user = ''))],
    ['a password with spaces and quotes', () => profile((p) => (p.ssh_pass = `p a"s's %w`))],
    [
      'NIC, CPU and disk settings',
      () =>
        platform((p) =>
          Object.assign(p, {
            vm_nic_driver: 'virtio-net-pci',
            vm_cpu_model: 'Skylake-Server-v4',
            vm_cpu_features: '+sse4.2,-x2apic,avx512f',
            vm_disk_bus: 'ide',
          }),
        ),
    ],
    [
      'packages with versions, architectures, releases, globs and groups',
      () => {
        const packages = ['iperf3', 'nginx=1.22.1-9', 'libc6:amd64', 'curl/bookworm-backports', 'python3-*'];
        packages.push('@development-tools', 'NetworkManager', 'g++');
        return profile((p) => (p.cloud_init = { packages }));
      },
    ],
    [
      'runcmd stays free (it runs in the guest, YAML-encoded)',
      () => profile((p) => (p.cloud_init = { runcmd: ['echo "a\nb" > /x', ['sh', '-c', 'id; true']] })),
    ],
    [
      'a platform name with spaces',
      () =>
        spec((s) => {
          s.platforms.platforms['sonic vs'] = s.platforms.platforms.vs;
          s.profiles.r2.platform = 'sonic vs';
        }),
    ],
    ['an image path with spaces', () => platform((p) => (p.vm_image = '/images/my base.qcow2'))],
    ['a user from secrets.json', () => userSecret('svc')],
  ];
  for (const [name, make] of accepted) {
    it(`accepts ${name}`, () => {
      const dir = make();
      const plan = planFor(dir);
      assert.ok(plan.nodes.length === 3);
    });
  }

  it('a user from secrets.json is the one that is used', () => {
    const plan = planFor(userSecret('svc'));
    assert.equal(plan.nodes.find((n) => n.name === 'r2')!.credentials.user, 'svc');
  });

  it('newtron spec dirs still load', () => {
    for (const d of ['2node', '2node-vs', '4node']) {
      const s = loadSpec(new URL(`../../../../test/fixtures/newtron-specs/${d}`, import.meta.url).pathname);
      assert.ok(s.devices.length >= 2, d);
    }
  });
});
