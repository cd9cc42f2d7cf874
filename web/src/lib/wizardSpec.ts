/*
 * The /labs/new wizard's answers as an inline spec for POST /api/v1/labs.
 * Pure (unit-tested): every problem is found here, named by field, before
 * anything is sent; the server then checks the spec itself again.
 */

export type Wiring = 'none' | 'chain' | 'star' | 'drawn';

/** A link drawn on the wizard's graph: two nodes by their index in WizardInput.nodes (a: where the drag started). */
export interface NodePair {
  a: number;
  z: number;
}

export interface WizardNode {
  name: string;
  /** A library image's name, or `catalog:<id>` for a catalog image the wizard pulls first. */
  image: string;
  memory: number;
  cpus: number;
}

export interface WizardInput {
  lab: string;
  nodes: WizardNode[];
  wiring: Wiring;
  /** The links drawn on the graph, in drawing order (used when wiring is "drawn"). */
  drawn?: NodePair[];
  cloudInit: { importSshKeys: boolean; packages: string; runcmd: string };
  /** First port of the lab's links, consoles and SSH forwards (blank: vmlab's defaults). */
  portBase?: number | null;
}

export interface InlineSpec {
  name: string;
  topology: {
    devices: Record<string, { interfaces?: Record<string, { link: string }> }>;
    links: Array<{ a: string; z: string }>;
    vmlab: { name: string; link_port_base?: number; console_port_base?: number; ssh_port_base?: number };
  };
  profiles: Record<string, Record<string, unknown>>;
}

export type WizardProblems = Record<string, string>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** Interfaces for node pairs, in order: eth1, eth2… per node, as each link takes the next one on both ends. */
export function numberLinks(
  names: string[],
  pairs: ReadonlyArray<readonly [string, string]>,
): Array<{ a: string; z: string }> {
  const next = new Map<string, number>(names.map((n) => [n, 1]));
  const port = (n: string) => {
    const i = next.get(n) ?? 1;
    next.set(n, i + 1);
    return `${n}:eth${i}`;
  };
  return pairs.map(([a, z]) => ({ a: port(a), z: port(z) }));
}

/**
 * Links of a wiring: chain n1–n2–n3…, star from the first node to each other one,
 * or the drawn links (those whose two nodes still exist). eth1, eth2… per node in order.
 */
export function wire(
  names: string[],
  wiring: Wiring,
  drawn: readonly NodePair[] = [],
): Array<{ a: string; z: string }> {
  const pairs: Array<[string, string]> = [];
  if (wiring === 'chain') for (let i = 1; i < names.length; i++) pairs.push([names[i - 1]!, names[i]!]);
  if (wiring === 'star') for (let i = 1; i < names.length; i++) pairs.push([names[0]!, names[i]!]);
  if (wiring === 'drawn') {
    for (const l of drawn)
      if (l.a !== l.z && names[l.a] !== undefined && names[l.z] !== undefined) pairs.push([names[l.a]!, names[l.z]!]);
  }
  return numberLinks(names, pairs);
}

/** Problems by field ("lab", "nodes.1.name", …); empty when the input can be sent. */
export function checkWizard(w: WizardInput): WizardProblems {
  const p: WizardProblems = {};
  if (!NAME.test(w.lab)) p.lab = 'a lab name: letters, digits, - and _, starting with a letter or digit';
  if (w.nodes.length === 0) p.nodes = 'add at least one node';
  const seen = new Set<string>();
  w.nodes.forEach((n, i) => {
    if (!NAME.test(n.name)) p[`nodes.${i}.name`] = 'letters, digits, - and _';
    else if (seen.has(n.name)) p[`nodes.${i}.name`] = `"${n.name}" is used twice`;
    seen.add(n.name);
    if (!n.image) p[`nodes.${i}.image`] = 'pick an image';
    if (!Number.isInteger(n.memory) || n.memory < 64) p[`nodes.${i}.memory`] = 'at least 64 MiB';
    if (!Number.isInteger(n.cpus) || n.cpus < 1 || n.cpus > 64) p[`nodes.${i}.cpus`] = '1 to 64';
  });
  if (w.portBase !== undefined && w.portBase !== null) {
    const top =
      w.portBase +
      3 *
        portStride(
          w.nodes.length,
          wire(
            w.nodes.map((n) => n.name),
            w.wiring,
            w.drawn,
          ).length,
        );
    if (!Number.isInteger(w.portBase) || w.portBase < 1024 || top > 65535)
      p.portBase = `a port from 1024 to ${65535 - (top - w.portBase)}, or blank`;
  }
  return p;
}

const CATALOG = 'catalog:';
export const catalogChoice = (id: string) => CATALOG + id;

/** The library name a node's image will have: a catalog pull is named by its catalog id. */
export const libraryName = (image: string) => (image.startsWith(CATALOG) ? image.slice(CATALOG.length) : image);

/** The catalog images to pull before the deploy, each once. */
export function catalogPulls(w: WizardInput): string[] {
  return [...new Set(w.nodes.filter((n) => n.image.startsWith(CATALOG)).map((n) => libraryName(n.image)))];
}

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Ports each block (links, consoles, SSH) needs: UDP links take two a link; rounded up to tens. */
export const portStride = (nodes: number, links: number) =>
  Math.max(10, Math.ceil(Math.max(nodes, 2 * links) / 10) * 10);

/** Links, consoles and SSH forwards in three blocks from one base, so they never overlap. */
export function portBases(base: number, nodes: number, links: number) {
  const stride = portStride(nodes, links);
  return { link_port_base: base, console_port_base: base + stride, ssh_port_base: base + 2 * stride };
}

export function buildSpec(w: WizardInput): InlineSpec {
  const names = w.nodes.map((n) => n.name);
  const links = wire(names, w.wiring, w.drawn);
  const packages = w.cloudInit.packages.split(/[\s,]+/).filter(Boolean);
  const runcmd = lines(w.cloudInit.runcmd);
  const cloudInit = {
    ...(packages.length ? { packages } : {}),
    ...(runcmd.length ? { runcmd } : {}),
    ...(w.cloudInit.importSshKeys ? { ssh_import_user_keys: true } : {}),
  };
  const profiles = Object.fromEntries(
    w.nodes.map((n) => [
      n.name,
      {
        vm_image: libraryName(n.image),
        vm_memory: n.memory,
        vm_cpus: n.cpus,
        vm_nic_driver: 'virtio-net-pci',
        vm_interface_map: 'linux',
        ...(Object.keys(cloudInit).length ? { cloud_init: cloudInit } : {}),
      },
    ]),
  );
  const ports = w.portBase ? portBases(w.portBase, names.length, links.length) : {};
  return {
    name: w.lab,
    topology: { devices: Object.fromEntries(names.map((n) => [n, {}])), links, vmlab: { name: w.lab, ...ports } },
    profiles,
  };
}
