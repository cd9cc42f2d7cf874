import { stringify } from 'yaml';

/** What a node's NoCloud seed says. */
export interface CloudInitInput {
  hostname: string;
  /** The image's default user (ubuntu, debian, …), created with sudo. */
  user: string;
  authorizedKeys: string[];
  /** Pre-generated host key: no 11 s key generation under TCG, and a known_hosts that can be strict. */
  hostKey: { private: string; public: string };
  /** From the profile's `cloud_init` section. */
  packages?: string[];
  runcmd?: Array<string | string[]>;
  /** Stable per node and deploy so cloud-init runs once per deploy, not once per boot. */
  instanceId: string;
  /** MAC of the management NIC (NIC 0): the one interface that gets DHCP. */
  mgmtMac: string;
  /** A host device: its management NIC is named mgmt0, leaving eth0 to the first data port. */
  host?: boolean;
}

export interface SeedFiles {
  'user-data': string;
  'meta-data': string;
  'network-config': string;
}

/** user-data, meta-data and network-config for a NoCloud seed. Pure. */
export function cloudInitFiles(input: CloudInitInput): SeedFiles {
  const mgmtName = input.host ? 'mgmt0' : 'eth0';
  const userData: Record<string, unknown> = {
    hostname: input.hostname,
    manage_etc_hosts: true,
    users: [
      {
        name: input.user,
        groups: ['sudo'],
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        shell: '/bin/bash',
        lock_passwd: true,
        ssh_authorized_keys: input.authorizedKeys,
      },
    ],
    ssh_pwauth: false,
    // With ssh_keys given, cloud-init generates no host keys (ssh_genkeytypes: [] would fail 22.4's schema check).
    ssh_deletekeys: true,
    ssh_keys: { ed25519_private: input.hostKey.private, ed25519_public: input.hostKey.public },
  };
  if (input.packages?.length) userData.packages = input.packages;
  if (input.runcmd?.length) userData.runcmd = input.runcmd;
  return {
    'user-data': '#cloud-config\n' + stringify(userData, { lineWidth: 0 }),
    'meta-data': stringify({ 'instance-id': input.instanceId, 'local-hostname': input.hostname }),
    // Only the management NIC (matched by its deterministic MAC) gets DHCP; data NICs are the user's.
    'network-config': stringify({
      version: 2,
      ethernets: { [mgmtName]: { match: { macaddress: input.mgmtMac }, 'set-name': mgmtName, dhcp4: true } },
    }),
  };
}
