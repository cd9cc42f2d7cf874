import { useState } from 'react';
import { ErrorBox } from '../components/ErrorBox.js';
import { Link } from '../components/Link.js';
import { toneOf } from '../lib/graphLayout.js';
import { ConsolePane } from '../features/console/components/ConsolePane.js';
import { useLab } from '../features/labs/api/labs.js';
import { NodePanel } from '../features/labs/components/NodePanel.js';
import { TopologyGraph } from '../features/labs/components/TopologyGraph.js';

/**
 * /labs/:lab — the graph, the selected node's panel and the open consoles.
 * Loaded on demand: xyflow and xterm are most of the app's weight.
 */
export default function LabPage({ name }: { name: string }) {
  const lab = useLab(name);
  const [selected, setSelected] = useState<string>();
  const [consoles, setConsoles] = useState<string[]>([]);
  if (lab.error) {
    return (
      <section>
        <h2>{name}</h2>
        <ErrorBox error={lab.error} />
        <Link href="/labs">All labs</Link>
      </section>
    );
  }
  if (!lab.data) return <p className="muted">Loading {name}…</p>;
  const l = lab.data;
  const node = l.nodes.find((n) => n.node === (selected ?? l.nodes[0]?.node));
  const open = (n: string) => setConsoles((c) => (c.includes(n) ? c : [...c, n]));
  return (
    <section>
      <div className="toolbar">
        <h2>
          <Link href="/labs">Labs</Link> / {l.name}
        </h2>
        <span className={`badge ${toneOf(l.status)}`}>{l.status}</span>
        <span className="muted">
          {l.nodes.filter((n) => n.status === 'running').length} of {l.nodes.length} running · {l.accel ?? ''}
        </span>
      </div>
      {l.hint ? <div className="error">{l.hint}</div> : null}
      <div className="lab-layout">
        <TopologyGraph lab={l} selected={node?.node} onSelect={setSelected} />
        <div>
          <nav className="node-list" aria-label="nodes">
            {l.nodes.map((n) => (
              <button
                key={n.node}
                type="button"
                aria-pressed={n.node === node?.node}
                onClick={() => setSelected(n.node)}
              >
                <span className={`dot ${toneOf(n.status)}`} /> {n.node}
              </button>
            ))}
          </nav>
          {node ? <NodePanel lab={l} node={node} onConsole={() => open(node.node)} /> : null}
        </div>
      </div>
      <div className="consoles">
        {consoles.map((n) => (
          <ConsolePane key={n} lab={l.name} node={n} onClose={() => setConsoles((c) => c.filter((x) => x !== n))} />
        ))}
      </div>
    </section>
  );
}
