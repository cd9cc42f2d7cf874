/*
 * A lab report as a drawable graph: node positions, state colours, and
 * one edge per link labelled with both interface names. Pure (unit-tested);
 * features/labs hands the result to @xyflow/react.
 */

export interface LabLike {
  nodes: Array<{ node: string; status: string }>;
  links: Array<{ a: string; z: string }>;
}

export type StateTone = 'ok' | 'busy' | 'off' | 'bad';

export interface GraphNode {
  id: string;
  x: number;
  y: number;
  status: string;
  tone: StateTone;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  sourceIface: string;
  targetIface: string;
  /** "eth1 ↔ eth2": source's interface first. */
  label: string;
}

/** How a node's status reads as a colour. */
export function toneOf(status: string): StateTone {
  if (status === 'running') return 'ok';
  if (status === 'starting' || status === 'paused' || status === 'deploying') return 'busy';
  if (status === 'stopped' || status === 'shut down' || status === 'exited') return 'off';
  return 'bad';
}

/** "r1:eth1" → ["r1", "eth1"] (an interface name may contain ':'; the node name may not). */
export function splitEndpoint(ep: string): [string, string] {
  const i = ep.indexOf(':');
  return i < 0 ? [ep, ''] : [ep.slice(0, i), ep.slice(i + 1)];
}

/** Node spacing in graph units (the node box is ~140×56). */
export const SPACING = 220;

/**
 * Positions: one or two nodes side by side; more on a circle (by name
 * order, so a lab always draws the same), radius growing with the count
 * so neighbours stay SPACING apart.
 */
export function layoutLab(lab: LabLike): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const names = lab.nodes.map((n) => n.node).sort();
  const status = new Map(lab.nodes.map((n) => [n.node, n.status]));
  const count = names.length;
  const radius = count <= 2 ? 0 : Math.max(SPACING, SPACING / (2 * Math.sin(Math.PI / count)));
  const nodes = names.map((id, i): GraphNode => {
    const s = status.get(id) ?? 'unknown';
    if (count <= 2) return { id, x: i * SPACING * 1.5, y: 0, status: s, tone: toneOf(s) };
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / count;
    return {
      id,
      x: Math.round(radius * Math.cos(angle)),
      y: Math.round(radius * Math.sin(angle)),
      status: s,
      tone: toneOf(s),
    };
  });
  const known = new Set(names);
  const edges: GraphEdge[] = [];
  for (const l of lab.links) {
    const [source, sourceIface] = splitEndpoint(l.a);
    const [target, targetIface] = splitEndpoint(l.z);
    if (!known.has(source) || !known.has(target)) continue;
    edges.push({
      id: `${l.a}--${l.z}`,
      source,
      target,
      sourceIface,
      targetIface,
      label: `${sourceIface} ↔ ${targetIface}`,
    });
  }
  return { nodes, edges };
}
