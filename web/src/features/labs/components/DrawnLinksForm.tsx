import { useState } from 'react';
import { addLink, drawnLinks, linkProblem, removeLink } from '../../../lib/drawnLinks.js';
import type { NodePair } from '../../../lib/wizardSpec.js';

/**
 * The drawn wiring by keyboard: two selects and "Add link", and the list of
 * links as the spec will have them, each with Remove. Beside the graph
 * (which is loaded lazily), so it works before and without it.
 */
export function DrawnLinksForm({
  names,
  drawn,
  onChange,
}: {
  names: string[];
  drawn: NodePair[];
  onChange: (drawn: NodePair[]) => void;
}) {
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(1);
  const a = Math.min(from, names.length - 1);
  const z = Math.min(to, names.length - 1);
  const [shown, setShown] = useState<string | null>(null);
  const problem = linkProblem(drawn, names, a, z);
  const links = drawnLinks(names, drawn);
  const node = (value: number, set: (i: number) => void, label: string) => (
    <label>
      {label}
      <select
        value={value}
        onChange={(e) => {
          set(Number(e.target.value));
          setShown(null);
        }}
      >
        {names.map((n, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: an option stands for the node at this index (its value is the index, and so is the select's state); names may repeat or be blank
          <option key={i} value={i}>
            {n || `(node ${i + 1})`}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div className="drawn-form">
      <fieldset className="add-link" aria-label="add a link">
        {node(a, setFrom, 'Link from')}
        {node(z, setTo, 'Link to')}
        <button
          type="button"
          onClick={() => {
            setShown(problem);
            if (!problem) onChange(addLink(drawn, names, a, z));
          }}
        >
          Add link
        </button>
      </fieldset>
      {shown ? (
        <div className="field-error" role="status">
          {shown}
        </div>
      ) : null}
      {links.length ? (
        <ul className="drawn-links" aria-label="links">
          {links.map((l) => (
            <li key={l.id} data-testid="drawn-link-row">
              <code>
                {l.a} ↔ {l.z}
              </code>
              <button
                type="button"
                onClick={() => onChange(removeLink(drawn, l.index))}
                aria-label={`remove link ${l.a} – ${l.z}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">
          No link yet: drag from one node to another on the graph, or pick two nodes and Add link.
        </p>
      )}
    </div>
  );
}
