import type { InterfaceMap } from '../spec/schema.js';
import type { LabFiles, NodeFiles } from './labFiles.js';
import type { Accel, MgmtBackend, NicBackend } from '../qemu/netBackend.js';

export type { Accel, MgmtBackend, MgmtNet, NicBackend, SshRelay } from '../qemu/netBackend.js';
export type LinkTransport = 'tcp' | 'udp';

/** A stream link's end that listens (the peer connects to it) / that connects (to a listening peer). */
export const listens = (b: NicPlan['backend']): b is Extract<NicBackend, { kind: 'tcp-listen' | 'unix-listen' }> =>
  b.kind === 'tcp-listen' || b.kind === 'unix-listen';
export const connects = (b: NicPlan['backend']): b is Extract<NicBackend, { kind: 'tcp-connect' | 'unix-connect' }> =>
  b.kind === 'tcp-connect' || b.kind === 'unix-connect';

export interface NicPlan {
  index: number;
  /** Interface name in the spec ("Ethernet0", "eth1"), "mgmt" for NIC 0, "" for a gap. */
  iface: string;
  mac: string;
  /** NIC 0: user-mode networking with SSH forwarded. */
  backend: NicBackend | MgmtBackend;
  /** Index into LabPlan.links when wired. */
  link?: number;
  /** "leaf1:Ethernet0" when wired. */
  peer?: string;
  /** Multi-host: the peer runs on this other host (its listener is waited for, not started). */
  peerHost?: string;
}

/** A node that starts from a library checkpoint: a booted node saved with its RAM (`vmlab images checkpoint`). */
export interface NodeCheckpoint {
  /** The checkpoint's name in the library. */
  name: string;
  /** The internal snapshot inside the checkpoint file that QEMU loads (-loadvm). */
  snapshot: string;
  /** The image the checkpoint's disk sits on. */
  base: { path: string; format: string };
  /** The private key the saved guest trusts, and its user: how vmlab logs in to give the node its own identity. */
  key: string;
  user: string;
  /** NICs it was saved with, management included: the node gets at least as many. */
  nics: number;
  /** JSON: everything it was saved with (lab/checkpoint CheckpointFacts), checked at deploy. */
  facts: string;
}

export interface NodePlan {
  name: string;
  /** Multi-host: the `vmlab.hosts` entry it runs on. */
  host?: string;
  /** Position in name order: the base of console and SSH ports. */
  index: number;
  platform: string | null;
  image: { path: string; format: string };
  /** Set when vm_image is a library checkpoint: the node starts warm from it. */
  checkpoint?: NodeCheckpoint;
  /** NoCloud seed for cloud images: written at deploy, attached read-only. */
  seed: {
    path: string;
    user: string;
    extra?: { packages?: string[]; runcmd?: Array<string | string[]>; ssh_import_user_keys?: boolean };
  } | null;
  memoryMb: number;
  cpus: number;
  cpuModel: string;
  cpuFeatures: string[];
  nicDriver: string;
  diskBus: string;
  interfaceMap: InterfaceMap;
  /**
   * Present for a host device (newtron's `"device_type": "host"`): its
   * management NIC (still NIC 0 here) comes last in PCI order and the guest
   * is told its MAC, so the guest's eth0 is the first data port.
   */
  deviceType?: 'host';
  bootTimeoutS: number;
  credentials: { user: string; pass: string | null };
  mgmtIp: string;
  sshPort: number;
  /**
   * The serial console's TCP port on 127.0.0.1, only when the lab opts in
   * (console_tcp); null: the console is the unix socket `files.console`.
   * (Plans recorded before the socket always have a port.)
   */
  consolePort: number | null;
  nics: NicPlan[];
  files: NodeFiles;
  /** Nodes whose listening sockets must be up before this one starts. */
  after: string[];
  argv: string[];
}

export interface LinkEndpointPlan {
  node: string;
  iface: string;
  nic: number;
}

export interface LinkPlan {
  index: number;
  a: LinkEndpointPlan;
  z: LinkEndpointPlan;
  transport: LinkTransport;
  /**
   * The seed's port numbering (TCP: the one port, A listens; UDP: A's port,
   * Z uses `zPort`). Used only by a link to another host (`socket: "inet"`);
   * a link on one host runs over UNIX sockets and keeps the numbers for
   * whatever reads them (state, status).
   */
  port: number;
  zPort?: number;
  /** "unix": both ends on this host, sockets in the lab's qemu/ dir; "inet": across hosts (and older plans: absent). */
  socket?: 'unix' | 'inet';
  /** Which side listens (TCP); A unless that would make a start-order cycle. */
  listener: 'a' | 'z';
}

export interface ProfilePatch {
  node: string;
  path: string;
  label: string;
  /** The file before deploy, restored on destroy. */
  before: string;
  after: string;
  set: Record<string, string | number>;
}

export interface LabPlan {
  name: string;
  specDir: string;
  accel: Accel;
  qemuBinary: string;
  transport: LinkTransport;
  files: LabFiles;
  nodes: NodePlan[];
  links: LinkPlan[];
  /** A valid order to start nodes in (listeners first). */
  startOrder: string[];
  profiles: ProfilePatch[];
  warnings: string[];
  /** Multi-host: the host this plan deploys (`--host`); `nodes` are its nodes only. */
  host?: string;
  /** Multi-host: the lab's nodes on other hosts (from the same global port allocation). */
  remote?: RemoteNode[];
}

/** A node of the lab that another host runs: what status shows and profiles of that host get. */
export interface RemoteNode {
  name: string;
  host: string;
  mgmtIp: string;
  sshPort: number;
  /** Null unless the lab opts in to TCP consoles (console_tcp). */
  consolePort: number | null;
  platform: string | null;
}
