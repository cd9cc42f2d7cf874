import type { Spec } from '../spec/loadSpec.js';
import { TOPOLOGY } from '../spec/loadSpec.js';
import { IssueList } from '../spec/specError.js';
import { buildQemuArgv } from '../qemu/argv.js';
import { interfaceNameOf, nicIndexOf } from './interfaceMap.js';
import { labDir, labFiles, nodeFiles, UNIX_SOCKET_PATH_MAX, type LabFiles } from './labFiles.js';
import type {
  Accel,
  LabPlan,
  LinkPlan,
  LinkTransport,
  NicPlan,
  NodeCheckpoint,
  NodePlan,
  ProfilePatch,
  RemoteNode,
} from './labPlan.js';
import {
  chooseLinkOrder,
  linkSocketPaths,
  MAX_NIC_INDEX,
  nicBackend,
  placementOf,
  planLinks,
  wireInterfaces,
  type LinkOrder,
  type Placement,
  type Wiring,
} from './linkPlanning.js';
import { macAddress } from './macAddress.js';
import { planMgmtNet } from './mgmtPlan.js';
import { allocatePorts, PORT_DEFAULTS, type PortAssignment } from './portAllocator.js';
import { patchProfileText } from './profilePatch.js';
import { LIBRARY_PREFIX, resolveNode, type ResolvedNode } from './resolveNode.js';

/** What an image turned out to be when inspected (before QEMU sees it). */
export interface ImageFacts {
  format?: string;
  /** The file, when the spec named a library image. */
  path?: string;
  /** The image runs cloud-init: the node gets a NoCloud seed and this user. */
  cloudInit?: { user: string };
  /** A library checkpoint: the node starts from its saved state. */
  checkpoint?: NodeCheckpoint;
  /** Why the image cannot be used: missing, unreadable, unsafe. */
  problem?: string;
  hint?: string;
}

/** Everything the planner needs to know about the host, probed beforehand. */
export interface HostFacts {
  home: string;
  /** vmlab's state root ($VMLAB_HOME or ~/.vmlab). */
  root: string;
  accel: Accel;
  qemuBinary: string;
  /** passt's path when it is installed (management egress without host loopback). */
  passt?: string;
  /** By absolute image path. */
  images: Record<string, ImageFacts>;
}

export { MAX_NIC_INDEX };

/** Resolve every device (profile > platform > default); pure. */
export function resolveLab(spec: Spec, home: string): ResolvedNode[] {
  const issues = new IssueList();
  const nodes = [...spec.devices].sort().map((d) => resolveNode(spec, d, home, issues));
  issues.throwIfAny();
  return nodes as ResolvedNode[];
}

/** Image paths the planner will need facts for. */
export const imagePathsOf = (nodes: ResolvedNode[]) => [...new Set(nodes.map((n) => n.image.path))];

/**
 * Which nodes this machine runs: all of a single-host lab; of a multi-host
 * lab, those on `host` (a multi-host lab needs one). Problems go to `issues`.
 */
export function localNodes(
  spec: Spec,
  resolved: ResolvedNode[],
  host: string | undefined,
  issues: IssueList,
): Set<string> {
  const known = Object.keys(spec.hosts);
  const where = `${spec.settingsKey}.hosts`;
  if (host !== undefined && !(host in spec.hosts)) {
    const why = known.length
      ? `--host "${host}" is not one of the lab's hosts`
      : `--host "${host}" given, but the lab has no hosts (${where} is not set)`;
    const hint = known.length ? `use one of: ${known.join(', ')}` : 'leave out --host: every node runs on this machine';
    issues.add(TOPOLOGY, where, why, hint);
  } else if (host === undefined && known.length) {
    issues.add(
      TOPOLOGY,
      where,
      `the lab spans hosts (${known.join(', ')}): each host deploys its own nodes`,
      `run vmlab deploy -S ${spec.dir} --host <name> on each host, or --all-hosts from one machine`,
    );
  }
  return new Set(resolved.filter((n) => host === undefined || n.host === host).map((n) => n.name));
}

/** Every unix socket of the lab (QMP, console, same-host links) must fit a socket address. */
function checkSocketPaths(dir: string, names: string[], linkSockets: string[], issues: IssueList): void {
  const tooLong = (p: string) => Buffer.byteLength(p) > UNIX_SOCKET_PATH_MAX;
  const over: Array<readonly [string, string]> = [];
  for (const n of names) {
    const f = nodeFiles(dir, n);
    const first = (
      [
        ['QMP', f.qmp],
        ['console', f.console],
      ] as const
    ).find(([, p]) => tooLong(p));
    if (first) over.push(first);
  }
  for (const p of linkSockets.filter(tooLong)) over.push(['link', p]);
  for (const [what, path] of over) {
    const why =
      `the ${what} socket path ${path} is ${Buffer.byteLength(path)} bytes, ` +
      `over the ${UNIX_SOCKET_PATH_MAX}-byte limit of unix sockets`;
    issues.add('VMLAB_HOME', '', why, 'set VMLAB_HOME to a shorter directory, or use shorter lab/node names');
  }
}

const CONSOLE_TCP_WARNING = (section: string) =>
  `${section}.console_tcp is on: each serial console listens on TCP 127.0.0.1:<console_port> without a password, ` +
  "so any local user (and anything that can reach this host's loopback) can attach to a shell logged in there";

/** Images of this host's nodes must exist and be safe to open. */
function checkImages(
  spec: Spec,
  resolved: ResolvedNode[],
  local: Set<string>,
  facts: HostFacts,
  issues: IssueList,
): void {
  for (const n of resolved.filter((r) => local.has(r.name))) {
    const img = facts.images[n.image.path];
    if (!img || img.problem) {
      const what = img?.problem ?? 'image not inspected';
      // A library problem names the image already; a file problem gets the path.
      const message = n.image.path.startsWith(LIBRARY_PREFIX) ? what : `${what}: ${n.image.path}`;
      // Multi-host: say on which host, and that --all-hosts brings it there.
      const onHost = n.host ? ` (on host ${n.host}, for ${n.name})` : '';
      const allHosts =
        n.host && n.image.path.startsWith(LIBRARY_PREFIX)
          ? `; or from one machine that has it: vmlab deploy -S ${spec.dir} --all-hosts`
          : '';
      const hint = (img?.hint ?? 'point vm_image at an existing qcow2 file') + allHosts;
      issues.add(n.image.file, n.image.jsonPath, message + onHost, hint);
    }
  }
}

/** Console, SSH and link ports from the spec's bases (or the defaults). */
function allocateLabPorts(spec: Spec, names: string[], transport: LinkTransport, issues: IssueList): PortAssignment {
  const bases = { ...PORT_DEFAULTS };
  for (const k of Object.keys(bases) as Array<keyof typeof bases>) bases[k] = spec.settings[k] ?? bases[k];
  const links = spec.links.map((l) => `${l.a.device}:${l.a.iface} ↔ ${l.z.device}:${l.z.iface}`);
  return allocatePorts({ bases, nodes: names, links, transport, section: spec.settingsKey, file: TOPOLOGY }, issues);
}

/** What the per-node steps share: the spec, the host facts and what the lab-wide steps decided. */
interface Planning {
  spec: Spec;
  facts: HostFacts;
  dir: string;
  files: LabFiles;
  local: Set<string>;
  wired: Wiring;
  ports: PortAssignment;
  links: LinkPlan[];
  order: LinkOrder;
  where: Placement;
  /** The TCP console port of the node at `index`, or null (a unix socket). */
  consolePortOf: (index: number) => number | null;
  /** Lab warnings, in the order they are found. */
  warnings: string[];
  /** MACs handed out so far (one global order over every node). */
  macs: Set<string>;
}

/**
 * NICs up to the highest interface the device wires or lists (or its
 * checkpoint was saved with); gaps are unwired NICs.
 */
function topNic(p: Planning, n: ResolvedNode): number {
  const checkpoint = p.facts.images[n.image.path]?.checkpoint;
  let top = Math.max(0, ...p.wired.get(n.name)!.keys(), (checkpoint?.nics ?? 0) - 1);
  for (const iface of p.spec.listedInterfaces[n.name] ?? []) {
    const r = nicIndexOf(n.interfaceMap, iface, n.customMap, n.hostDevice);
    if ('nic' in r && r.nic <= MAX_NIC_INDEX) top = Math.max(top, r.nic);
  }
  return top;
}

/** NIC 0: user net (or passt) with SSH forwarded; its warnings count for a node of this host only. */
function mgmtNic(p: Planning, n: ResolvedNode, index: number, mac: string): NicPlan {
  const fwd = { bind: n.host ? p.where.bindOf(n.name) : '127.0.0.1', sshPort: p.ports.ssh[index]! };
  const seeded = Boolean(p.facts.images[n.image.path]?.cloudInit);
  const mgmt = planMgmtNet(n, { dir: p.dir, ...(p.facts.passt ? { passt: p.facts.passt } : {}), fwd, seeded });
  if (p.local.has(n.name)) p.warnings.push(...mgmt.warnings);
  const bind = n.host ? { bind: fwd.bind } : {};
  const backend = { kind: 'user' as const, sshPort: fwd.sshPort, ...bind, net: mgmt.net };
  return { index: 0, iface: 'mgmt', mac, backend };
}

function planNics(p: Planning, n: ResolvedNode, index: number): NicPlan[] {
  const w = p.wired.get(n.name)!;
  const top = topNic(p, n);
  const nics: NicPlan[] = [];
  for (let i = 0; i <= top; i++) {
    const mac = macAddress(p.spec.name, n.name, i, p.macs);
    if (i === 0) {
      nics.push(mgmtNic(p, n, index, mac));
      continue;
    }
    const wi = w.get(i);
    if (!wi) {
      const iface = interfaceNameOf(n.interfaceMap, i, n.customMap, n.hostDevice);
      nics.push({ index: i, iface, mac, backend: { kind: 'unwired' } });
      continue;
    }
    const link = p.links[wi.link]!;
    const peer = wi.side === 'a' ? link.z : link.a;
    const peerHost = p.where.hostOf(peer.node) !== n.host ? p.where.hostOf(peer.node) : null;
    const backend = nicBackend(link, wi.side, p.dir, p.where);
    const far = { link: link.index, peer: `${peer.node}:${peer.iface}`, ...(peerHost ? { peerHost } : {}) };
    nics.push({ index: i, iface: wi.iface, mac, backend, ...far });
  }
  return nics;
}

/** A node of this host, complete with its QEMU command line. */
function planNode(p: Planning, n: ResolvedNode, index: number, nics: NicPlan[], mgmtIp: string): NodePlan {
  const { facts, dir, local } = p;
  const img = facts.images[n.image.path]!;
  const seedUser = n.userExplicit ? n.credentials.user : img.cloudInit?.user;
  const seed = img.cloudInit
    ? { path: nodeFiles(dir, n.name).seed, user: seedUser!, ...(n.cloudInit ? { extra: n.cloudInit } : {}) }
    : null;
  const credentials =
    img.cloudInit && !n.userExplicit ? { user: img.cloudInit.user, pass: n.credentials.pass } : n.credentials;
  const node: Omit<NodePlan, 'argv'> = {
    name: n.name,
    ...(n.host ? { host: n.host } : {}),
    index,
    platform: n.platform,
    image: { path: img.path ?? n.image.path, format: img.format ?? 'qcow2' },
    ...(img.checkpoint ? { checkpoint: img.checkpoint } : {}),
    seed,
    memoryMb: n.memoryMb,
    cpus: n.cpus,
    cpuModel: n.cpuModel ?? (facts.accel === 'kvm' ? 'host' : 'max'),
    cpuFeatures: n.cpuFeatures ? n.cpuFeatures.split(',') : [],
    nicDriver: n.nicDriver,
    diskBus: n.diskBus,
    interfaceMap: n.interfaceMap,
    ...(n.hostDevice ? { deviceType: 'host' as const } : {}),
    bootTimeoutS: n.bootTimeoutS,
    credentials,
    mgmtIp,
    sshPort: p.ports.ssh[index]!,
    consolePort: p.consolePortOf(index),
    nics,
    files: nodeFiles(dir, n.name),
    // A listener on another host is waited for by port (see lab/remoteListener), not by start order.
    after: [...p.order.after.get(n.name)!].filter((d) => local.has(d)).sort(),
  };
  const ctx = { lab: p.spec.name, accel: facts.accel, qemuBinary: facts.qemuBinary, authorizedKeys: p.files.labKeyPub };
  return { ...node, argv: buildQemuArgv(node, ctx) };
}

/**
 * Every node is walked (MACs are assigned in one global order); this host's
 * become NodePlans, the others RemoteNodes.
 */
function planNodes(p: Planning, resolved: ResolvedNode[]): { nodes: NodePlan[]; remote: RemoteNode[] } {
  const remote: RemoteNode[] = [];
  const nodes = resolved.flatMap((n, index) => {
    const nics = planNics(p, n, index);
    const mgmtIp = n.host ? p.where.addressOf(n.name) : '127.0.0.1';
    if (!p.local.has(n.name)) {
      const ports = { sshPort: p.ports.ssh[index]!, consolePort: p.consolePortOf(index) };
      remote.push({ name: n.name, host: n.host!, mgmtIp, ...ports, platform: n.platform });
      return [];
    }
    return [planNode(p, n, index, nics, mgmtIp)];
  });
  return { nodes, remote };
}

/** The management address and ports written into each node's profile (console_port only where something listens). */
function planProfiles(spec: Spec, nodes: NodePlan[]): ProfilePatch[] {
  return nodes.flatMap((n) => {
    const p = spec.profiles[n.name];
    if (!p) return [];
    const consolePort: Record<string, number> = n.consolePort !== null ? { console_port: n.consolePort } : {};
    const set = { mgmt_ip: n.mgmtIp, ssh_port: n.sshPort, ...consolePort };
    return [{ node: n.name, path: p.path, label: p.label, before: p.text, after: patchProfileText(p.text, set), set }];
  });
}

/**
 * Turn a loaded spec and the host facts into the complete LabPlan: every
 * port, NIC, file and QEMU argv. Pure; all problems are thrown together as
 * one SpecError. Multi-host: `opts.host` names this machine's entry of
 * `vmlab.hosts`; ports come from the one global allocation (the same on
 * every host) and only that host's nodes are planned to run.
 */
export function planLab(spec: Spec, resolved: ResolvedNode[], facts: HostFacts, opts: { host?: string } = {}): LabPlan {
  const issues = new IssueList();
  const local = localNodes(spec, resolved, opts.host, issues);
  issues.throwIfAny();
  const warnings = [...spec.warnings];
  const names = resolved.map((n) => n.name);
  const byName = new Map(resolved.map((n) => [n.name, n]));
  const dir = labDir(facts.root, spec.name);
  const files = labFiles(dir);
  const where = placementOf(spec, byName);

  checkImages(spec, resolved, local, facts, issues);
  const wired = wireInterfaces(spec, byName, issues);
  const transport = spec.settings.link_transport ?? 'tcp';
  const ports = allocateLabPorts(spec, names, transport, issues);
  checkSocketPaths(dir, names, linkSocketPaths(spec, wired, dir, where), issues);
  issues.throwIfAny();

  // Consoles are private unix sockets; the seed's TCP console ports stay
  // allocated (opting in moves no other port) but are listened on only on request.
  const consoleTcp = spec.settings.console_tcp === true;
  if (consoleTcp) warnings.push(CONSOLE_TCP_WARNING(spec.settingsKey));
  const order = chooseLinkOrder(spec, names, transport);
  warnings.push(...order.warnings);
  const links = planLinks(spec, wired, ports, order, transport, where);

  const consolePortOf = (index: number) => (consoleTcp ? ports.console[index]! : null);
  const planning: Planning = {
    spec,
    facts,
    dir,
    files,
    local,
    wired,
    ports,
    links,
    order,
    where,
    consolePortOf,
    warnings,
    macs: new Set(),
  };
  const { nodes, remote } = planNodes(planning, resolved);
  return {
    name: spec.name,
    specDir: spec.dir,
    accel: facts.accel,
    qemuBinary: facts.qemuBinary,
    transport,
    files,
    nodes,
    links,
    startOrder: order.order.filter((n) => local.has(n)),
    profiles: planProfiles(spec, nodes),
    warnings,
    ...(opts.host ? { host: opts.host, remote } : {}),
  };
}
