import type { Spec } from '../spec/loadSpec.js';
import type { LabPlan } from './labPlan.js';

/** What a drawing of a lab needs: nodes and links with interface names. */
export interface TopologyGraph {
  name: string;
  nodes: Array<{ name: string; platform: string | null }>;
  links: Array<{ a: { node: string; iface: string }; z: { node: string; iface: string } }>;
}

export const GRAPH_FORMATS = ['mermaid', 'dot'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** The graph of a deployed lab (from its plan). */
export const graphOfPlan = (plan: LabPlan): TopologyGraph => ({
  name: plan.name,
  // Multi-host: the other hosts' nodes are drawn too, so cross-host links have both ends.
  nodes: [...plan.nodes, ...(plan.remote ?? [])]
    .map((n) => ({ name: n.name, platform: n.platform }))
    .sort((x, y) => x.name.localeCompare(y.name)),
  links: plan.links.map((l) => ({ a: { node: l.a.node, iface: l.a.iface }, z: { node: l.z.node, iface: l.z.iface } })),
});

/** The graph of a spec dir, deployed or not (no image is needed to draw it). */
export const graphOfSpec = (spec: Spec): TopologyGraph => ({
  name: spec.name,
  nodes: [...spec.devices].sort().map((d) => ({ name: d, platform: spec.profiles[d]?.data.platform || null })),
  links: spec.links.map((l) => ({
    a: { node: l.a.device, iface: l.a.iface },
    z: { node: l.z.device, iface: l.z.iface },
  })),
});

/** A Mermaid string: no `"` (Mermaid has no escape for it inside labels but the entity). */
const mermaidText = (s: string) => s.replace(/"/g, '#quot;');

/**
 * Mermaid flowchart. Node ids are n0, n1, … (a name such as "end" would be
 * a keyword); each edge is labelled "A-side interface — Z-side interface".
 */
export function toMermaid(g: TopologyGraph): string {
  const id = new Map(g.nodes.map((n, i) => [n.name, `n${i}`]));
  const lines = [`%% vmlab lab "${mermaidText(g.name)}"`, 'graph LR'];
  for (const n of g.nodes)
    lines.push(
      `  ${id.get(n.name)}["${mermaidText(n.name)}` +
        `${n.platform ? `<br/><small>${mermaidText(n.platform)}</small>` : ''}"]`,
    );
  for (const l of g.links)
    lines.push(
      `  ${id.get(l.a.node)} ---|"${mermaidText(l.a.iface)} — ${mermaidText(l.z.iface)}"| ${id.get(l.z.node)}`,
    );
  return lines.join('\n') + '\n';
}

const dotString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz (undirected): interface names at each end of an edge (taillabel = A side). */
export function toDot(g: TopologyGraph): string {
  const lines = [
    `graph ${dotString(g.name)} {`,
    '  graph [rankdir=LR];',
    '  node [shape=box];',
    '  edge [fontsize=10];',
  ];
  for (const n of g.nodes)
    lines.push(
      `  ${dotString(n.name)} ` +
        `[label=${dotString(n.platform ? `${n.name}\n${n.platform}` : n.name).replace(/\n/g, '\\n')}];`,
    );
  for (const l of g.links)
    lines.push(
      `  ${dotString(l.a.node)} -- ${dotString(l.z.node)} ` +
        `[taillabel=${dotString(l.a.iface)}, headlabel=${dotString(l.z.iface)}];`,
    );
  lines.push('}');
  return lines.join('\n') + '\n';
}

export const renderGraph = (g: TopologyGraph, format: GraphFormat) => (format === 'dot' ? toDot(g) : toMermaid(g));
