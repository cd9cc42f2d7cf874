import { useMemo } from 'react';
import { Background, Controls, Handle, Position, ReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { layoutLab, type GraphNode } from '../../../lib/graphLayout.js';
import type { Lab } from '../../../lib/types.js';

// A type alias (not the interface): xyflow wants node data assignable to Record<string, unknown>.
type LabNodeData = { [K in keyof GraphNode]: GraphNode[K] } & { selected: boolean };

function LabNodeBox({ data }: NodeProps<Node<LabNodeData>>) {
  return (
    <div
      className={`graph-node ${data.tone}${data.selected ? ' selected' : ''}`}
      data-testid={`graph-node-${data.id}`}
      data-status={data.status}
    >
      <Handle type="target" position={Position.Left} />
      <strong>{data.id}</strong>
      <span>{data.status}</span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const nodeTypes = { lab: LabNodeBox };

/** The lab as a graph: nodes coloured by state, each link labelled with both interface names. */
export function TopologyGraph({
  lab,
  selected,
  onSelect,
}: {
  lab: Lab;
  selected: string | undefined;
  onSelect: (node: string) => void;
}) {
  const layout = useMemo(() => layoutLab(lab), [lab]);
  const nodes: Node<LabNodeData>[] = layout.nodes.map((n) => ({
    id: n.id,
    type: 'lab',
    position: { x: n.x, y: n.y },
    data: { ...n, selected: n.id === selected },
    draggable: true,
  }));
  const edges: Edge[] = layout.edges.map((e) => ({
    id: e.id,
    source: e.source,
    target: e.target,
    label: e.label,
    type: 'straight',
    labelBgPadding: [4, 2],
    labelBgBorderRadius: 4,
  }));
  return (
    <section className="graph" aria-label={`topology of ${lab.name}`}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.3, maxZoom: 1.2 }}
        onNodeClick={(_e, n) => onSelect(n.id)}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
        colorMode="system"
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </section>
  );
}
