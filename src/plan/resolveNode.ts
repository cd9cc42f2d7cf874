import { isAbsolute, join, resolve } from 'node:path';
import type { InterfaceMap, Platform, Profile } from '../spec/schema.js';
import type { Spec } from '../spec/loadSpec.js';
import { PLATFORMS } from '../spec/loadSpec.js';
import type { IssueList } from '../spec/specError.js';

/** Built-in defaults: the last step of the resolution order (seed §4). */
export const DEFAULTS = {
  memoryMb: 4096,
  cpus: 2,
  nicDriver: 'e1000',
  interfaceMap: 'stride-4' as InterfaceMap,
  bootTimeoutS: 180,
  diskBus: 'virtio',
  sshUser: 'admin',
};

export interface ResolvedNode {
  name: string;
  platform: string | null;
  /**
   * `path`: an absolute file path, or `library:<name>` for an image of the
   * library (vm_image without a slash or image extension); the facts map it
   * to a file. `file`/`jsonPath`: where it was set, for messages.
   */
  image: { path: string; file: string; jsonPath: string };
  memoryMb: number;
  cpus: number;
  nicDriver: string;
  interfaceMap: InterfaceMap;
  /** The platform's device_type is "host": eth0 is the first data port, management NIC last. */
  hostDevice: boolean;
  customMap: Record<string, number> | undefined;
  cpuModel: string | undefined;
  cpuFeatures: string | undefined;
  diskBus: string;
  bootTimeoutS: number;
  credentials: { user: string; pass: string | null };
  /** The user came from the profile or platform, not the built-in default (a cloud image's own user wins over that). */
  userExplicit: boolean;
  cloudInit: { packages?: string[]; runcmd?: Array<string | string[]>; ssh_import_user_keys?: boolean } | undefined;
  /** Multi-host: the `vmlab.hosts` entry it runs on (profile `vm_host`); null in a single-host lab. */
  host: string | null;
  /** May the guest open connections through its management NIC, and the setting that said so ("" for the default). */
  mgmtEgress: { on: boolean; from: string };
}

/** vm_image names a library image when it has no slash, no `~` and no image file extension. */
export const isLibraryRef = (value: string) => !/[/~]/.test(value) && !/\.(qcow2|img|raw|vmdk|vhdx?|iso)$/i.test(value);
export const LIBRARY_PREFIX = 'library:';

/** `~/x` → home/x; relative paths are relative to the spec directory. */
export function expandPath(path: string, specDir: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(specDir, path);
}

type VmKey = keyof Profile & keyof Platform;

/**
 * Resolve one device: profile override, then platform, then built-in
 * default ("first non-empty wins": "" and 0 count as unset).
 */
export function resolveNode(spec: Spec, name: string, home: string, issues: IssueList): ResolvedNode | undefined {
  const profileFile = spec.profiles[name];
  const profile: Profile = profileFile?.data ?? {};
  const profileLabel = profileFile?.label ?? `profiles/${name}.json`;
  let platform: Platform = {};
  const platformName = profile.platform || null;
  if (platformName) {
    const p = spec.platforms[platformName];
    if (!p) {
      const known = Object.keys(spec.platforms);
      issues.add(
        profileLabel,
        'platform',
        `unknown platform "${platformName}"`,
        known.length
          ? `use one of: ${known.join(', ')} (from ${PLATFORMS})`
          : `define it in ${PLATFORMS} under "platforms"`,
      );
      return undefined;
    }
    platform = p;
  }

  const pick = <K extends VmKey>(
    key: K,
  ): { value: NonNullable<Profile[K]>; file: string; path: string } | undefined => {
    const fromProfile = profile[key];
    if (fromProfile !== undefined && fromProfile !== '' && fromProfile !== 0)
      return { value: fromProfile as NonNullable<Profile[K]>, file: profileLabel, path: key };
    const fromPlatform = platform[key];
    if (fromPlatform !== undefined && fromPlatform !== '' && fromPlatform !== 0) {
      return {
        value: fromPlatform as NonNullable<Profile[K]>,
        file: PLATFORMS,
        path: `platforms.${platformName}.${key}`,
      };
    }
    return undefined;
  };

  const image = pick('vm_image');
  if (!image) {
    issues.add(
      profileLabel,
      profileFile ? 'vm_image' : '',
      profileFile
        ? `no vm_image for device "${name}" (neither the profile nor its platform sets one)`
        : `device "${name}" has no profile, so no platform and no vm_image`,
      profileFile
        ? `set "vm_image" in ${profileLabel} or in its platform in ${PLATFORMS}`
        : `create ${profileLabel} with {"platform": "<name in ${PLATFORMS}>"} or {"vm_image": "<path to a qcow2>"}`,
    );
    return undefined;
  }

  const host = placeNode(spec, name, profile.vm_host, profileLabel, issues);
  if (host === undefined) return undefined;

  const map = pick('vm_interface_map')?.value ?? DEFAULTS.interfaceMap;
  return {
    name,
    platform: platformName,
    image: {
      path: isLibraryRef(image.value) ? LIBRARY_PREFIX + image.value : expandPath(image.value, spec.dir, home),
      file: image.file,
      jsonPath: image.path,
    },
    memoryMb: pick('vm_memory')?.value ?? DEFAULTS.memoryMb,
    cpus: pick('vm_cpus')?.value ?? DEFAULTS.cpus,
    nicDriver: pick('vm_nic_driver')?.value ?? DEFAULTS.nicDriver,
    interfaceMap: map,
    hostDevice: platform.device_type === 'host',
    customMap: pick('vm_interface_map_custom')?.value,
    cpuModel: pick('vm_cpu_model')?.value,
    cpuFeatures: pick('vm_cpu_features')?.value,
    diskBus: pick('vm_disk_bus')?.value ?? DEFAULTS.diskBus,
    bootTimeoutS: pick('vm_boot_timeout')?.value ?? DEFAULTS.bootTimeoutS,
    credentials: {
      user: profile.ssh_user || platform.vm_credentials?.user || DEFAULTS.sshUser,
      pass: profile.ssh_pass || platform.vm_credentials?.pass || null,
    },
    userExplicit: Boolean(profile.ssh_user || platform.vm_credentials?.user),
    cloudInit: profile.cloud_init,
    host,
    mgmtEgress: mgmtEgressOf(pick('vm_mgmt_egress'), spec),
  };
}

/** Profile > platform > the lab's `mgmt_egress` > off. */
type Picked = { value: boolean; file: string; path: string } | undefined;
function mgmtEgressOf(picked: Picked, spec: Spec): ResolvedNode['mgmtEgress'] {
  if (picked) return { on: picked.value, from: `${picked.file} ${picked.path}` };
  const lab = spec.settings.mgmt_egress;
  if (lab === undefined) return { on: false, from: '' };
  return { on: lab, from: `topology.json ${spec.settingsKey}.mgmt_egress` };
}

/**
 * Which host a device runs on: its profile's `vm_host`, one of
 * `vmlab.hosts`. With hosts every device must say; without, none may.
 * undefined: a problem was reported.
 */
function placeNode(
  spec: Spec,
  name: string,
  vmHost: string | undefined,
  label: string,
  issues: IssueList,
): string | null | undefined {
  const known = Object.keys(spec.hosts);
  const section = `topology.json ${spec.settingsKey}.hosts`;
  if (!known.length) {
    if (!vmHost) return null;
    issues.add(
      label,
      'vm_host',
      `runs on host "${vmHost}", but ${section} is not set`,
      `add "${spec.settingsKey}": {"hosts": {"${vmHost}": "<address>"}} to topology.json, or remove vm_host`,
    );
    return undefined;
  }
  if (!vmHost) {
    issues.add(
      label,
      'vm_host',
      `device "${name}" has no vm_host, and the lab spans hosts (${known.join(', ')})`,
      `set "vm_host" in ${label} to one of: ${known.join(', ')}`,
    );
    return undefined;
  }
  if (!(vmHost in spec.hosts)) {
    issues.add(label, 'vm_host', `unknown host "${vmHost}"`, `use one of: ${known.join(', ')} (from ${section})`);
    return undefined;
  }
  return vmHost;
}
