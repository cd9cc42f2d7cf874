/*
 * The wizard's "drawn on the graph" wiring: links drawn between nodes (by
 * their index in the wizard's node list, in drawing order, so renaming a
 * node changes nothing here) and what they become. Pure (unit-tested); the
 * graph (features/labs/components/DrawnWiring) and the keyboard form in
 * the wizard both edit the list through these functions.
 *
 * Interfaces are not stored: they follow from the order of the links
 * (wizardSpec's numberLinks, as chain and star do), so removing a link
 * renumbers the later ones on the same nodes and a node's interfaces stay
 * eth1…ethN with no gap.
 */
import { splitEndpoint } from './graphLayout.js';
import { wire, type NodePair } from './wizardSpec.js';

const valid = (count: number, l: NodePair) =>
  l.a !== l.z && Number.isInteger(l.a) && Number.isInteger(l.z) && l.a >= 0 && l.z >= 0 && l.a < count && l.z < count;

/** Why a link between nodes a and z (indices) cannot be drawn, or null when it can. */
export function linkProblem(drawn: readonly NodePair[], names: readonly string[], a: number, z: number): string | null {
  if (a === z) return 'a link joins two different nodes';
  if (!valid(names.length, { a, z })) return 'pick two nodes of this lab';
  if (drawn.some((l) => (l.a === a && l.z === z) || (l.a === z && l.z === a)))
    return `${names[a]} and ${names[z]} are already linked`;
  return null;
}

/** The list with a link from a to z added last (unchanged when linkProblem names a problem). */
export function addLink(drawn: readonly NodePair[], names: readonly string[], a: number, z: number): NodePair[] {
  return linkProblem(drawn, names, a, z) ? [...drawn] : [...drawn, { a, z }];
}

/** The list without its index-th link. */
export function removeLink(drawn: readonly NodePair[], index: number): NodePair[] {
  return drawn.filter((_, i) => i !== index);
}

/** Node `node` removed from the wizard: its links go with it, and the nodes after it move up one. */
export function dropNode(drawn: readonly NodePair[], node: number): NodePair[] {
  const shift = (i: number) => (i > node ? i - 1 : i);
  return drawn.filter((l) => l.a !== node && l.z !== node).map((l) => ({ a: shift(l.a), z: shift(l.z) }));
}

export interface DrawnLink {
  /** Unique in one list: the link's index and endpoints. */
  id: string;
  /** Index in the drawn list (what removeLink takes). */
  index: number;
  /** The nodes' indices. */
  source: number;
  target: number;
  /** "vm1:eth1", "vm2:eth1": the spec's endpoints. */
  a: string;
  z: string;
  /** "eth1 ↔ eth1": the source's interface first, as on a lab's graph. */
  label: string;
}

/**
 * The drawn links with their interfaces, exactly as buildSpec will send
 * them (wire(names, 'drawn', drawn)). A link to a node that is not there
 * is left out.
 */
export function drawnLinks(names: readonly string[], drawn: readonly NodePair[]): DrawnLink[] {
  const kept = drawn.map((l, index) => ({ ...l, index })).filter((l) => valid(names.length, l));
  const spec = wire([...names], 'drawn', kept);
  return kept.map((l, i) => {
    const { a, z } = spec[i]!;
    return {
      id: `${l.index}:${a}--${z}`,
      index: l.index,
      source: l.a,
      target: l.z,
      a,
      z,
      label: `${splitEndpoint(a)[1]} ↔ ${splitEndpoint(z)[1]}`,
    };
  });
}
