import { ImageError } from './imageError.js';

export type Distro =
  | 'ubuntu'
  | 'debian'
  | 'rocky'
  | 'almalinux'
  | 'fedora'
  | 'centos-stream'
  | 'opensuse-leap'
  | 'alpine';
export type Arch = 'x86_64' | 'aarch64';

export interface DetectedOs {
  family: 'linux';
  distro: Distro;
  version: string | null;
  arch: Arch | null;
  /** The account cloud-init creates for the injected SSH key. */
  defaultUser: string | null;
  /** The image runs cloud-init (a NoCloud seed configures it). */
  cloudInit: boolean;
}

/** Default cloud-init users, from the distributions' cloud.cfg. */
export const DEFAULT_USERS: Record<Distro, string> = {
  ubuntu: 'ubuntu',
  debian: 'debian',
  rocky: 'rocky',
  almalinux: 'almalinux',
  fedora: 'fedora',
  'centos-stream': 'cloud-user',
  // Not confirmed: cloud-init's default for SUSE; the Minimal-VM Cloud image may differ. Verify on a real boot.
  'opensuse-leap': 'opensuse',
  alpine: 'alpine',
};

const UBUNTU_CODENAMES: Record<string, string> = {
  focal: '20.04',
  jammy: '22.04',
  noble: '24.04',
  oracular: '24.10',
  plucky: '25.04',
  questing: '25.10',
};
const DEBIAN_CODENAMES: Record<string, string> = { bullseye: '11', bookworm: '12', trixie: '13', forky: '14' };

function archOf(name: string): Arch | null {
  if (/(?:^|[-_.])(?:x86_64|amd64|x64)(?:[-_.]|$)/i.test(name)) return 'x86_64';
  if (/(?:^|[-_.])(?:aarch64|arm64)(?:[-_.]|$)/i.test(name)) return 'aarch64';
  return null;
}

const os = (distro: Distro, version: string | null, arch: Arch | null, cloudInit = true): DetectedOs => ({
  family: 'linux',
  distro,
  version,
  arch,
  defaultUser: cloudInit ? DEFAULT_USERS[distro] : null,
  cloudInit,
});

/**
 * The OS of a cloud image from its file name (the distributions' own
 * naming), or null when the name says nothing we know. Only a hint: the
 * user can always say `--os`.
 */
export function detectOs(fileName: string): DetectedOs | null {
  const name = fileName.replace(/^.*[/\\]/, '');
  const lower = name.toLowerCase();
  const arch = archOf(name);
  let m: RegExpExecArray | null;

  if ((m = /^ubuntu-(\d{2}\.\d{2})(?:\.\d+)?-/.exec(lower))) return os('ubuntu', m[1]!, arch);
  if ((m = /^([a-z]+)-server-cloudimg-/.exec(lower)) && UBUNTU_CODENAMES[m[1]!])
    return os('ubuntu', UBUNTU_CODENAMES[m[1]!]!, arch);

  if ((m = /^debian-(\d+|[a-z]+)-(genericcloud|generic|nocloud)-/.exec(lower))) {
    const version = /^\d+$/.test(m[1]!) ? m[1]! : (DEBIAN_CODENAMES[m[1]!] ?? null);
    return os('debian', version, arch, m[2] !== 'nocloud');
  }

  if ((m = /^rocky-(\d+)(?:\.(\d+))?-genericcloud/.exec(lower)))
    return os('rocky', m[2] ? `${m[1]}.${m[2]}` : m[1]!, arch);
  if ((m = /^almalinux-(\d+)(?:\.(\d+))?-genericcloud/.exec(lower)))
    return os('almalinux', m[2] ? `${m[1]}.${m[2]}` : m[1]!, arch);
  if ((m = /^fedora-cloud-base-(?:generic-)?(\d+)-/.exec(lower))) return os('fedora', m[1]!, arch);
  if ((m = /^centos-stream-genericcloud-(\d+)-/.exec(lower))) return os('centos-stream', m[1]!, arch);
  if ((m = /^opensuse-leap-(\d+\.\d+)-.*cloud/.exec(lower))) return os('opensuse-leap', m[1]!, arch);
  if ((m = /^(?:nocloud_|generic_)?alpine-(\d+\.\d+)(?:\.\d+)?-.*cloudinit/.exec(lower)))
    return os('alpine', m[1]!, arch);
  return null;
}

/** `--os` values: `<distro>-<version>`; `ubuntu-jammy`/`debian-bookworm` codenames too. */
const OS_ARG_FORMS: Record<Distro, RegExp> = {
  ubuntu: /^\d{2}\.\d{2}$/,
  debian: /^\d+$/,
  rocky: /^\d+(?:\.\d+)?$/,
  almalinux: /^\d+(?:\.\d+)?$/,
  fedora: /^\d+$/,
  'centos-stream': /^\d+$/,
  'opensuse-leap': /^\d+\.\d+$/,
  alpine: /^\d+\.\d+$/,
};
const OS_ARG_EXAMPLES = [
  'ubuntu-24.04',
  'ubuntu-noble',
  'debian-12',
  'debian-bookworm',
  'rocky-9',
  'almalinux-9',
  'fedora-43',
  'centos-stream-9',
  'opensuse-leap-15.6',
  'alpine-3.23',
];

/**
 * Parse a `--os` flag (`debian-12`, `centos-stream-9`, `ubuntu-noble`, and
 * optionally an arch suffix: `debian-12-aarch64`) into the shape `detectOs`
 * returns.
 */
export function parseOsArg(arg: string): DetectedOs {
  let text = arg.trim().toLowerCase();
  let arch: Arch | null = null;
  const a = /-(x86_64|amd64|aarch64|arm64)$/.exec(text);
  if (a) {
    arch = a[1] === 'x86_64' || a[1] === 'amd64' ? 'x86_64' : 'aarch64';
    text = text.slice(0, a.index);
  }
  // Longest distro names first: "centos-stream" before anything shorter.
  const distros = (Object.keys(OS_ARG_FORMS) as Distro[]).sort((x, y) => y.length - x.length);
  for (const distro of distros) {
    if (!text.startsWith(distro + '-')) continue;
    let version = text.slice(distro.length + 1);
    if (distro === 'ubuntu' && UBUNTU_CODENAMES[version]) version = UBUNTU_CODENAMES[version]!;
    if (distro === 'debian' && DEBIAN_CODENAMES[version]) version = DEBIAN_CODENAMES[version]!;
    if (OS_ARG_FORMS[distro].test(version)) return os(distro, version, arch);
  }
  throw new ImageError('bad_input', `--os ${JSON.stringify(arg)} is not an OS vmlab knows`, {
    hint: `write it as <distro>-<version>[-<arch>], one of: ${OS_ARG_EXAMPLES.join(', ')} (arch: x86_64 or aarch64)`,
  });
}
