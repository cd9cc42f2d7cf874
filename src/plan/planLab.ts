import type { Spec } from '../spec/loadSpec.js';
import { TOPOLOGY } from '../spec/loadSpec.js';
import { IssueList } from '../spec/specError.js';
import { buildQemuArgv } from '../qemu/argv.js';
import { interfaceNameOf, nicIndexOf } from './interfaceMap.js';
import { labDir, labFiles, linkSocketFile, nodeFiles, UNIX_SOCKET_PATH_MAX } from './labFiles.js';
import type { Accel, LabPlan, LinkPlan, NicBackend, NicPlan, NodeCheckpoint, NodePlan, ProfilePatch, RemoteNode } from './labPlan.js';
import { macAddress } from './macAddress.js';
import { planMgmtNet } from './mgmtPlan.js';
import { allocatePorts, PORT_DEFAULTS } from './portAllocator.js';
import { patchProfileText } from './profilePatch.js';
import { LIBRARY_PREFIX, resolveNode, type ResolvedNode } from './resolveNode.js';
import { chooseListeners } from './startOrder.js';

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

/** Highest NIC index vmlab places on the q35 root bus. */
export const MAX_NIC_INDEX = 24;

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
export function localNodes(spec: Spec, resolved: ResolvedNode[], host: string | undefined, issues: IssueList): Set<string> {
  const known = Object.keys(spec.hosts);
  const where = `${spec.settingsKey}.hosts`;
  if (host !== undefined && !(host in spec.hosts)) {
    issues.add(TOPOLOGY, where, known.length ? `--host "${host}" is not one of the lab's hosts` : `--host "${host}" given, but the lab has no hosts (${where} is not set)`, known.length ? `use one of: ${known.join(', ')}` : 'leave out --host: every node runs on this machine');
  } else if (host === undefined && known.length) {
    issues.add(TOPOLOGY, where, `the lab spans hosts (${known.join(', ')}): each host deploys its own nodes`, `run vmlab deploy -S ${spec.dir} --host <name> on each host, or --all-hosts from one machine`);
  }
  return new Set(resolved.filter((n) => host === undefined || n.host === host).map((n) => n.name));
}

/**
 * Turn a loaded spec and the host facts into the complete LabPlan: every
 * port, NIC, file and QEMU argv. Pure; all problems are thrown together as
 * one SpecError. Multi-host: `opts.host` names this machine's entry of
 * `vmlab.hosts`; ports come from the one global allocation (the same on
 * every host) and only that host's nodes are planned to run.
 */
/** The QMP and console socket paths must fit a unix socket address (one issue per node). */
/** Every unix socket of the lab (QMP, console, same-host links) must fit a socket address. */
function checkSocketPaths(dir: string, names: string[], linkSockets: string[], issues: IssueList): void {
  const tooLong = (p: string) => Buffer.byteLength(p) > UNIX_SOCKET_PATH_MAX;
  const over: Array<readonly [string, string]> = [];
  for (const n of names) {
    const f = nodeFiles(dir, n);
    const first = ([['QMP', f.qmp], ['console', f.console]] as const).find(([, p]) => tooLong(p));
    if (first) over.push(first);
  }
  for (const p of linkSockets.filter(tooLong)) over.push(['link', p]);
  for (const [what, path] of over) {
    const why = `the ${what} socket path ${path} is ${Buffer.byteLength(path)} bytes, ` +
      `over the ${UNIX_SOCKET_PATH_MAX}-byte limit of unix sockets`;
    issues.add('VMLAB_HOME', '', why, 'set VMLAB_HOME to a shorter directory, or use shorter lab/node names');
  }
}

const CONSOLE_TCP_WARNING = (section: string) =>
  `${section}.console_tcp is on: each serial console listens on TCP 127.0.0.1:<console_port> without a password, ` +
  "so any local user (and anything that can reach this host's loopback) can attach to a shell logged in there";

export function planLab(spec: Spec, resolved: ResolvedNode[], facts: HostFacts, opts: { host?: string } = {}): LabPlan {
  const issues = new IssueList();
  const section = spec.settingsKey;
  const local = localNodes(spec, resolved, opts.host, issues);
  issues.throwIfAny();
  const warnings = [...spec.warnings];
  const names = resolved.map((n) => n.name);
  const byName = new Map(resolved.map((n) => [n.name, n]));
  const dir = labDir(facts.root, spec.name);
  const files = labFiles(dir);

  // Images must exist and be safe to open.
  for (const n of resolved.filter((r) => local.has(r.name))) {
    const img = facts.images[n.image.path];
    if (!img || img.problem) {
      const what = img?.problem ?? 'image not inspected';
      // A library problem names the image already; a file problem gets the path.
      const message = n.image.path.startsWith(LIBRARY_PREFIX) ? what : `${what}: ${n.image.path}`;
      // Multi-host: say on which host, and that --all-hosts brings it there.
      const onHost = n.host ? ` (on host ${n.host}, for ${n.name})` : '';
      const allHosts = n.host && n.image.path.startsWith(LIBRARY_PREFIX) ? `; or from one machine that has it: vmlab deploy -S ${spec.dir} --all-hosts` : '';
      issues.add(n.image.file, n.image.jsonPath, message + onHost, (img?.hint ?? 'point vm_image at an existing qcow2 file') + allHosts);
    }
  }

  // Interfaces → NIC indexes, per node.
  const wired = new Map<string, Map<number, { iface: string; link: number; side: 'a' | 'z' }>>(names.map((n) => [n, new Map()]));
  for (const l of spec.links) {
    for (const side of ['a', 'z'] as const) {
      const ep = l[side];
      const node = byName.get(ep.device)!;
      const where = spec.links.length && l.path.startsWith('links') ? `${l.path}.${side}` : l.path;
      const r = nicIndexOf(node.interfaceMap, ep.iface, node.customMap, node.hostDevice);
      if ('error' in r) {
        issues.add(l.file, where, `${ep.device}:${ep.iface}: ${r.error}`, r.hint);
        continue;
      }
      if (r.nic === 0) {
        issues.add(l.file, where, `${ep.device}:${ep.iface} is the management interface (NIC 0) under the ${node.interfaceMap} map`, `wire a data interface instead (${interfaceNameOf(node.interfaceMap, 1, node.customMap, node.hostDevice)} or above)`);
        continue;
      }
      if (r.nic > MAX_NIC_INDEX) {
        issues.add(l.file, where, `${ep.device}:${ep.iface} is NIC ${r.nic}; vmlab supports NIC indexes up to ${MAX_NIC_INDEX}`, 'use a lower interface');
        continue;
      }
      const prev = wired.get(ep.device)!.get(r.nic);
      if (prev) {
        issues.add(l.file, where, `${ep.device}:${ep.iface} and ${ep.device}:${prev.iface} are the same NIC (${r.nic})`, 'each NIC takes one link: check vm_interface_map_custom or pick another interface');
        continue;
      }
      wired.get(ep.device)!.set(r.nic, { iface: ep.iface, link: l.index, side });
    }
  }

  // Ports.
  const bases = { ...PORT_DEFAULTS };
  for (const k of Object.keys(bases) as Array<keyof typeof bases>) bases[k] = spec.settings[k] ?? bases[k];
  const transport = spec.settings.link_transport ?? 'tcp';
  const ports = allocatePorts(
    {
      bases,
      nodes: names,
      links: spec.links.map((l) => `${l.a.device}:${l.a.iface} ↔ ${l.z.device}:${l.z.iface}`),
      transport,
      section,
      file: TOPOLOGY,
    },
    issues,
  );

  // The link sockets of nodes that share a host must fit a unix socket address too.
  const hostOf = (node: string) => byName.get(node)!.host;
  const sameHost = (l: Spec['links'][number]) => hostOf(l.a.device) === hostOf(l.z.device);
  const linkSockets: string[] = [];
  for (const l of spec.links.filter(sameHost)) {
    for (const side of ['a', 'z'] as const) {
      const nic = [...wired.get(l[side].device)!].find(([, w]) => w.link === l.index && w.side === side)?.[0];
      if (nic !== undefined) linkSockets.push(linkSocketFile(dir, l[side].device, nic));
    }
  }
  checkSocketPaths(dir, names, linkSockets, issues);
  issues.throwIfAny();

  // Consoles are private unix sockets; the seed's TCP console ports stay
  // allocated (opting in moves no other port) but are listened on only on request.
  const consoleTcp = spec.settings.console_tcp === true;
  const consolePortOf = (index: number) => (consoleTcp ? ports.console[index]! : null);
  if (consoleTcp) warnings.push(CONSOLE_TCP_WARNING(section));

  // Who listens; what starts after what.
  const { listener, after, order, flipped } =
    transport === 'tcp'
      ? chooseListeners(names, spec.links.map((l) => ({ a: l.a.device, z: l.z.device })))
      : { listener: spec.links.map(() => 'a' as const), after: new Map(names.map((n) => [n, new Set<string>()])), order: names, flipped: [] as number[] };
  for (const i of flipped) {
    const l = spec.links[i]!;
    warnings.push(`link ${i} (${l.a.device}:${l.a.iface} ↔ ${l.z.device}:${l.z.iface}): ${l.z.device} listens instead of ${l.a.device}, because A-listens would need a start-order cycle`);
  }

  const links: LinkPlan[] = spec.links.map((l, i) => {
    const [pa, pz] = ports.links[i]!;
    const nicOf = (side: 'a' | 'z') => [...wired.get(l[side].device)!].find(([, w]) => w.link === i && w.side === side)![0];
    return {
      index: i,
      a: { node: l.a.device, iface: l.a.iface, nic: nicOf('a') },
      z: { node: l.z.device, iface: l.z.iface, nic: nicOf('z') },
      transport,
      port: pa,
      ...(transport === 'udp' ? { zPort: pz } : {}),
      socket: sameHost(l) ? ('unix' as const) : ('inet' as const),
      listener: listener[i]!,
    };
  });

  // A link on one host runs over UNIX sockets in the lab's private qemu/
  // dir (a port on 127.0.0.1 would take frames from any local user); a
  // cross-host link binds to its host's listen address and reaches the
  // peer at the peer host's address.
  const bindOf = (node: string) => spec.hosts[hostOf(node)!]!.listen;
  const addressOf = (node: string) => spec.hosts[hostOf(node)!]!.address;
  const backendFor = (link: LinkPlan, side: 'a' | 'z'): NicBackend => {
    const me = link[side].node;
    const peer = link[side === 'a' ? 'z' : 'a'].node;
    const other = side === 'a' ? 'z' : 'a';
    if (link.socket === 'unix') {
      const at = (s: 'a' | 'z') => linkSocketFile(dir, link[s].node, link[s].nic);
      if (link.transport === 'udp') return { kind: 'unix-dgram', path: at(side), remotePath: at(other) };
      return { kind: side === link.listener ? 'unix-listen' : 'unix-connect', path: at(link.listener) };
    }
    if (link.transport === 'udp') {
      const mine = side === 'a' ? link.port : link.zPort!;
      const theirs = side === 'a' ? link.zPort! : link.port;
      return { kind: 'udp', host: bindOf(me), localPort: mine, remotePort: theirs, remoteHost: addressOf(peer) };
    }
    if (side === link.listener) return { kind: 'tcp-listen', host: bindOf(me), port: link.port };
    return { kind: 'tcp-connect', host: addressOf(peer), port: link.port };
  };

  const macs = new Set<string>();
  const remote: RemoteNode[] = [];
  // Every node is walked (MACs are assigned in one global order); only local ones are kept.
  const nodes: NodePlan[] = resolved.flatMap((n, index) => {
    const w = wired.get(n.name)!;
    const checkpoint = facts.images[n.image.path]?.checkpoint;
    // NICs up to the highest interface the device wires or lists (or its checkpoint was saved with); gaps are unwired NICs.
    let top = Math.max(0, ...w.keys(), (checkpoint?.nics ?? 0) - 1);
    for (const iface of spec.listedInterfaces[n.name] ?? []) {
      const r = nicIndexOf(n.interfaceMap, iface, n.customMap, n.hostDevice);
      if ('nic' in r && r.nic <= MAX_NIC_INDEX) top = Math.max(top, r.nic);
    }
    const nics: NicPlan[] = [];
    for (let i = 0; i <= top; i++) {
      const mac = macAddress(spec.name, n.name, i, macs);
      if (i === 0) {
        const fwd = { bind: n.host ? bindOf(n.name) : '127.0.0.1', sshPort: ports.ssh[index]! };
        const seeded = Boolean(facts.images[n.image.path]?.cloudInit);
        const mgmt = planMgmtNet(n, { dir, ...(facts.passt ? { passt: facts.passt } : {}), fwd, seeded });
        if (local.has(n.name)) warnings.push(...mgmt.warnings);
        const bind = n.host ? { bind: fwd.bind } : {};
        const backend = { kind: 'user' as const, sshPort: fwd.sshPort, ...bind, net: mgmt.net };
        nics.push({ index: 0, iface: 'mgmt', mac, backend });
        continue;
      }
      const wi = w.get(i);
      if (!wi) {
        nics.push({ index: i, iface: interfaceNameOf(n.interfaceMap, i, n.customMap, n.hostDevice), mac, backend: { kind: 'unwired' } });
        continue;
      }
      const link = links[wi.link]!;
      const peer = wi.side === 'a' ? link.z : link.a;
      const peerHost = hostOf(peer.node) !== n.host ? hostOf(peer.node) : null;
      nics.push({ index: i, iface: wi.iface, mac, backend: backendFor(link, wi.side), link: link.index, peer: `${peer.node}:${peer.iface}`, ...(peerHost ? { peerHost } : {}) });
    }
    const mgmtIp = n.host ? addressOf(n.name) : '127.0.0.1';
    if (!local.has(n.name)) {
      remote.push({ name: n.name, host: n.host!, mgmtIp, sshPort: ports.ssh[index]!, consolePort: consolePortOf(index), platform: n.platform });
      return [];
    }
    const img = facts.images[n.image.path]!;
    const node: Omit<NodePlan, 'argv'> = {
      name: n.name,
      ...(n.host ? { host: n.host } : {}),
      index,
      platform: n.platform,
      image: { path: img.path ?? n.image.path, format: img.format ?? 'qcow2' },
      ...(img.checkpoint ? { checkpoint: img.checkpoint } : {}),
      seed: img.cloudInit ? { path: nodeFiles(dir, n.name).seed, user: n.userExplicit ? n.credentials.user : img.cloudInit.user, ...(n.cloudInit ? { extra: n.cloudInit } : {}) } : null,
      memoryMb: n.memoryMb,
      cpus: n.cpus,
      cpuModel: n.cpuModel ?? (facts.accel === 'kvm' ? 'host' : 'max'),
      cpuFeatures: n.cpuFeatures ? n.cpuFeatures.split(',') : [],
      nicDriver: n.nicDriver,
      diskBus: n.diskBus,
      interfaceMap: n.interfaceMap,
      ...(n.hostDevice ? { deviceType: 'host' as const } : {}),
      bootTimeoutS: n.bootTimeoutS,
      credentials: img.cloudInit && !n.userExplicit ? { user: img.cloudInit.user, pass: n.credentials.pass } : n.credentials,
      mgmtIp,
      sshPort: ports.ssh[index]!,
      consolePort: consolePortOf(index),
      nics,
      files: nodeFiles(dir, n.name),
      // A listener on another host is waited for by port (see lab/remoteListener), not by start order.
      after: [...after.get(n.name)!].filter((d) => local.has(d)).sort(),
    };
    return [
      {
        ...node,
        argv: buildQemuArgv(node, { lab: spec.name, accel: facts.accel, qemuBinary: facts.qemuBinary, authorizedKeys: files.labKeyPub }),
      },
    ];
  });

  const profiles: ProfilePatch[] = nodes.flatMap((n) => {
    const p = spec.profiles[n.name];
    if (!p) return [];
    // console_port only where something listens on it (console_tcp).
    const set = { mgmt_ip: n.mgmtIp, ssh_port: n.sshPort, ...(n.consolePort !== null ? { console_port: n.consolePort } : {}) };
    return [{ node: n.name, path: p.path, label: p.label, before: p.text, after: patchProfileText(p.text, set), set }];
  });

  return {
    name: spec.name,
    specDir: spec.dir,
    accel: facts.accel,
    qemuBinary: facts.qemuBinary,
    transport,
    files,
    nodes,
    links,
    startOrder: order.filter((n) => local.has(n)),
    profiles,
    warnings,
    ...(opts.host ? { host: opts.host, remote } : {}),
  };
}
