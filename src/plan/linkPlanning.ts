import type { Spec } from '../spec/loadSpec.js';
import type { IssueList } from '../spec/specError.js';
import { interfaceNameOf, nicIndexOf } from './interfaceMap.js';
import { linkSocketFile } from './labFiles.js';
import type { LinkPlan, LinkTransport, NicBackend } from './labPlan.js';
import type { PortAssignment } from './portAllocator.js';
import type { ResolvedNode } from './resolveNode.js';
import { chooseListeners } from './startOrder.js';

/** Highest NIC index vmlab places on the q35 root bus. */
export const MAX_NIC_INDEX = 24;

type Side = 'a' | 'z';
type SpecLink = Spec['links'][number];

/** Per node: NIC index -> the link end wired to it. */
export type Wiring = Map<string, Map<number, { iface: string; link: number; side: Side }>>;

/** Where each node runs: its host entry's name, listen address and reachable address (multi-host). */
export interface Placement {
  hostOf: (node: string) => string | null;
  bindOf: (node: string) => string;
  addressOf: (node: string) => string;
  sameHost: (l: SpecLink) => boolean;
}

export function placementOf(spec: Spec, byName: Map<string, ResolvedNode>): Placement {
  const hostOf = (node: string) => byName.get(node)!.host;
  return {
    hostOf,
    bindOf: (node) => spec.hosts[hostOf(node)!]!.listen,
    addressOf: (node) => spec.hosts[hostOf(node)!]!.address,
    sameHost: (l) => hostOf(l.a.device) === hostOf(l.z.device),
  };
}

/** Interfaces -> NIC indexes, per node; a bad or doubly wired interface is an issue. */
export function wireInterfaces(spec: Spec, byName: Map<string, ResolvedNode>, issues: IssueList): Wiring {
  const wired: Wiring = new Map([...byName.keys()].map((n) => [n, new Map()]));
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
        const data = interfaceNameOf(node.interfaceMap, 1, node.customMap, node.hostDevice);
        const why = `${ep.device}:${ep.iface} is the management interface (NIC 0) under the ${node.interfaceMap} map`;
        issues.add(l.file, where, why, `wire a data interface instead (${data} or above)`);
        continue;
      }
      if (r.nic > MAX_NIC_INDEX) {
        const why = `${ep.device}:${ep.iface} is NIC ${r.nic}; vmlab supports NIC indexes up to ${MAX_NIC_INDEX}`;
        issues.add(l.file, where, why, 'use a lower interface');
        continue;
      }
      const prev = wired.get(ep.device)!.get(r.nic);
      if (prev) {
        const why = `${ep.device}:${ep.iface} and ${ep.device}:${prev.iface} are the same NIC (${r.nic})`;
        const hint = 'each NIC takes one link: check vm_interface_map_custom or pick another interface';
        issues.add(l.file, where, why, hint);
        continue;
      }
      wired.get(ep.device)!.set(r.nic, { iface: ep.iface, link: l.index, side });
    }
  }
  return wired;
}

/** The NIC a link end is wired to (undefined when that end was refused). */
const nicOfEnd = (wired: Wiring, l: SpecLink, i: number, side: Side) =>
  [...wired.get(l[side].device)!].find(([, w]) => w.link === i && w.side === side)?.[0];

/** The UNIX socket paths of the links between nodes that share a host. */
export function linkSocketPaths(spec: Spec, wired: Wiring, dir: string, where: Placement): string[] {
  const paths: string[] = [];
  for (const l of spec.links.filter(where.sameHost)) {
    for (const side of ['a', 'z'] as const) {
      const nic = nicOfEnd(wired, l, l.index, side);
      if (nic !== undefined) paths.push(linkSocketFile(dir, l[side].device, nic));
    }
  }
  return paths;
}

export interface LinkOrder {
  listener: Side[];
  /** Per node: the nodes that must be up (listening) before it starts. */
  after: Map<string, Set<string>>;
  order: string[];
  /** One per link turned round (its Z listens) to keep the start order acyclic. */
  warnings: string[];
}

/** Who listens on each link, and what starts after what (UDP: nobody waits). */
export function chooseLinkOrder(spec: Spec, names: string[], transport: LinkTransport): LinkOrder {
  const noWaits = () => ({
    listener: spec.links.map(() => 'a' as const),
    after: new Map(names.map((n) => [n, new Set<string>()])),
    order: names,
    flipped: [] as number[],
  });
  const { listener, after, order, flipped } =
    transport === 'tcp'
      ? chooseListeners(
          names,
          spec.links.map((l) => ({ a: l.a.device, z: l.z.device })),
        )
      : noWaits();
  const warnings = flipped.map((i) => {
    const l = spec.links[i]!;
    return (
      `link ${i} (${l.a.device}:${l.a.iface} ↔ ${l.z.device}:${l.z.iface}): ${l.z.device} listens instead of ` +
      `${l.a.device}, because A-listens would need a start-order cycle`
    );
  });
  return { listener, after, order, warnings };
}

/** Every link with its NICs, ports, socket kind and listener. */
export function planLinks(
  spec: Spec,
  wired: Wiring,
  ports: PortAssignment,
  order: LinkOrder,
  transport: LinkTransport,
  where: Placement,
): LinkPlan[] {
  return spec.links.map((l, i) => {
    const [pa, pz] = ports.links[i]!;
    return {
      index: i,
      a: { node: l.a.device, iface: l.a.iface, nic: nicOfEnd(wired, l, i, 'a')! },
      z: { node: l.z.device, iface: l.z.iface, nic: nicOfEnd(wired, l, i, 'z')! },
      transport,
      port: pa,
      ...(transport === 'udp' ? { zPort: pz } : {}),
      socket: where.sameHost(l) ? ('unix' as const) : ('inet' as const),
      listener: order.listener[i]!,
    };
  });
}

/**
 * What one end of a link is plugged into. A link on one host runs over UNIX
 * sockets in the lab's private qemu/ dir (a port on 127.0.0.1 would take
 * frames from any local user); a cross-host link binds to its host's listen
 * address and reaches the peer at the peer host's address.
 */
export function nicBackend(link: LinkPlan, side: Side, dir: string, where: Placement): NicBackend {
  const me = link[side].node;
  const other = side === 'a' ? 'z' : 'a';
  const peer = link[other].node;
  if (link.socket === 'unix') {
    const at = (s: Side) => linkSocketFile(dir, link[s].node, link[s].nic);
    if (link.transport === 'udp') return { kind: 'unix-dgram', path: at(side), remotePath: at(other) };
    return { kind: side === link.listener ? 'unix-listen' : 'unix-connect', path: at(link.listener) };
  }
  if (link.transport === 'udp') {
    const mine = side === 'a' ? link.port : link.zPort!;
    const theirs = side === 'a' ? link.zPort! : link.port;
    const remoteHost = where.addressOf(peer);
    return { kind: 'udp', host: where.bindOf(me), localPort: mine, remotePort: theirs, remoteHost };
  }
  if (side === link.listener) return { kind: 'tcp-listen', host: where.bindOf(me), port: link.port };
  return { kind: 'tcp-connect', host: where.addressOf(peer), port: link.port };
}
