import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPACING, layoutLab, splitEndpoint, toneOf } from '../../web/src/lib/graphLayout.js';

describe('web: graph layout from a lab', () => {
  it('two nodes side by side, the link labelled with both interface names', () => {
    const g = layoutLab({
      nodes: [
        { node: 'r2', status: 'stopped' },
        { node: 'r1', status: 'running' },
      ],
      links: [{ a: 'r1:eth1', z: 'r2:eth3' }],
    });
    assert.deepEqual(
      g.nodes.map((n) => [n.id, n.x, n.y, n.tone]),
      [
        ['r1', 0, 0, 'ok'],
        ['r2', SPACING * 1.5, 0, 'off'],
      ],
    );
    assert.deepEqual(g.edges, [
      {
        id: 'r1:eth1--r2:eth3',
        source: 'r1',
        target: 'r2',
        sourceIface: 'eth1',
        targetIface: 'eth3',
        label: 'eth1 ↔ eth3',
      },
    ]);
  });

  it('more nodes on a circle, neighbours at least SPACING apart, the same every time', () => {
    const lab = { nodes: ['a', 'b', 'c', 'd', 'e', 'f'].map((node) => ({ node, status: 'running' })), links: [] };
    const g = layoutLab(lab);
    assert.deepEqual(layoutLab(lab), g);
    for (let i = 0; i < g.nodes.length; i++) {
      const p = g.nodes[i]!;
      const q = g.nodes[(i + 1) % g.nodes.length]!;
      assert.ok(Math.hypot(p.x - q.x, p.y - q.y) >= SPACING - 1, `${p.id}–${q.id}`);
    }
    assert.equal(new Set(g.nodes.map((n) => `${n.x},${n.y}`)).size, 6);
  });

  it('a link to a node the lab does not have is left out; interface names may contain ":"', () => {
    const g = layoutLab({
      nodes: [
        { node: 'r1', status: 'running' },
        { node: 'r2', status: 'running' },
      ],
      links: [
        { a: 'r1:eth1', z: 'gone:eth1' },
        { a: 'r1:Gi0/0:1', z: 'r2:eth1' },
      ],
    });
    assert.equal(g.edges.length, 1);
    assert.equal(g.edges[0]!.label, 'Gi0/0:1 ↔ eth1');
    assert.deepEqual(splitEndpoint('x'), ['x', '']);
  });

  it('states as colours', () => {
    assert.deepEqual(['running', 'starting', 'stopped', 'crashed', 'failed', 'panicked'].map(toneOf), [
      'ok',
      'busy',
      'off',
      'bad',
      'bad',
      'bad',
    ]);
  });
});
