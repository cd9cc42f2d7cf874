import { useMemo, useState } from 'react';
import {
  Background,
  BaseEdge,
  ConnectionMode,
  Controls,
  EdgeLabelRenderer,
  Handle,
  Position,
  ReactFlow,
  getStraightPath,
  type Connection,
  type Edge,
  type EdgeChange,
  type EdgeProps,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { addLink, drawnLinks, linkProblem, removeLink } from '../../../lib/drawnLinks.js';
import { layoutLab } from '../../../lib/graphLayout.js';
import type { NodePair } from '../../../lib/wizardSpec.js';

/*
 * The wizard's "drawn on the graph" wiring (lazy: xyflow loads only when
 * this wiring is picked). Drag from one node to another to link them;
 * select a link and press Delete or Backspace, or click its ×, to remove
 * it. Each link is labelled with both interface names, as the spec will
 * have them. The form beside it (DrawnLinksForm) does the same by keyboard.
 */

type WizNodeData = { name: string; links: number };
type WizEdgeData = { label: string; a: string; z: string; remove: () => void };

const nodeId = (i: number) => `n${i}`;
const indexOf = (id: string | null | undefined) => (id && /^n\d+$/.test(id) ? Number(id.slice(1)) : -1);

function WizNodeBox({ data }: NodeProps<Node<WizNodeData>>) {
  return (
    <div className="graph-node drawn" data-testid={`wizard-node-${data.name}`}>
      <Handle type="target" position={Position.Left} />
      <strong>{data.name || '(no name)'}</strong>
      <span>{data.links === 1 ? '1 link' : `${data.links} links`}</span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function WizEdge({ id, sourceX, sourceY, targetX, targetY, data, selected }: EdgeProps<Edge<WizEdgeData>>) {
  const [path, x, y] = getStraightPath({ sourceX, sourceY, targetX, targetY });
  return (
    <>
      <BaseEdge id={id} path={path} className={selected ? 'drawn-selected' : undefined} />
      {data ? (
        <EdgeLabelRenderer>
          <div
            className={`edge-label nodrag nopan${selected ? ' selected' : ''}`}
            style={{ transform: `translate(-50%, -50%) translate(${x}px, ${y}px)` }}
            data-testid={`drawn-link-${data.a}--${data.z}`}
          >
            <span>{data.label}</span>
            <button
              type="button"
              onClick={data.remove}
              aria-label={`remove link ${data.a} – ${data.z} on the graph`}
              title="Remove this link"
            >
              ×
            </button>
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

const nodeTypes = { wiz: WizNodeBox };
const edgeTypes = { wiz: WizEdge };

export default function DrawnWiring({
  names,
  drawn,
  onChange,
}: {
  names: string[];
  drawn: NodePair[];
  onChange: (drawn: NodePair[]) => void;
}) {
  const links = useMemo(() => drawnLinks(names, drawn), [names, drawn]);
  // Where the user moved nodes (by index); the layout again when nodes are added or removed.
  const [moved, setMoved] = useState<{ count: number; at: Record<string, { x: number; y: number }> }>({
    count: names.length,
    at: {},
  });
  const at = moved.count === names.length ? moved.at : {};
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const count = names.length;
  const layout = useMemo(
    // layoutLab places by sorted id: zero-padded indices keep the wizard's order.
    () =>
      layoutLab({
        nodes: Array.from({ length: count }, (_, i) => ({ node: String(i).padStart(3, '0'), status: 'new' })),
        links: [],
      }).nodes,
    [count],
  );
  const degree = (i: number) => links.filter((l) => l.source === i || l.target === i).length;
  const nodes: Node<WizNodeData>[] = names.map((name, i) => {
    const p = layout.find((n) => Number(n.id) === i) ?? { x: 0, y: 0 };
    return {
      id: nodeId(i),
      type: 'wiz',
      position: at[nodeId(i)] ?? { x: p.x, y: p.y },
      data: { name, links: degree(i) },
      deletable: false,
    };
  });
  const edges: Edge<WizEdgeData>[] = links.map((l) => ({
    id: l.id,
    source: nodeId(l.source),
    target: nodeId(l.target),
    type: 'wiz',
    selected: selected.has(l.id),
    ariaLabel: `link ${l.a} – ${l.z}`,
    data: { label: l.label, a: l.a, z: l.z, remove: () => onChange(removeLink(drawn, l.index)) },
  }));

  const onNodesChange = (changes: NodeChange<Node<WizNodeData>>[]) => {
    const next = { ...at };
    let any = false;
    for (const c of changes) {
      if (c.type === 'position' && c.position) {
        next[c.id] = c.position;
        any = true;
      }
    }
    if (any) setMoved({ count: names.length, at: next });
  };
  const onEdgesChange = (changes: EdgeChange<Edge<WizEdgeData>>[]) => {
    const next = new Set(selected);
    for (const c of changes) if (c.type === 'select') c.selected ? next.add(c.id) : next.delete(c.id);
    setSelected(next);
  };
  const onEdgesDelete = (gone: Edge[]) => {
    const indices = new Set(links.filter((l) => gone.some((e) => e.id === l.id)).map((l) => l.index));
    onChange(drawn.filter((_, i) => !indices.has(i)));
  };
  const onConnect = (c: Connection) => onChange(addLink(drawn, names, indexOf(c.source), indexOf(c.target)));
  const isValidConnection = (c: Connection | Edge) =>
    linkProblem(drawn, names, indexOf(c.source), indexOf(c.target)) === null;

  return (
    <section className="graph wizard-graph" aria-label="the lab's nodes: drag from one node to another to link them">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onEdgesDelete={onEdgesDelete}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        connectionMode={ConnectionMode.Loose}
        deleteKeyCode={['Delete', 'Backspace']}
        fitView
        fitViewOptions={{ padding: 0.3, maxZoom: 1.2 }}
        proOptions={{ hideAttribution: true }}
        colorMode="system"
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </section>
  );
}
