import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planFor } from '../../helpers/planFor.js';
import { assertGolden } from '../../helpers/golden.js';
import { packageRoot } from '../../../src/packageRoot.js';
import { loadSpec } from '../../../src/spec/loadSpec.js';
import { graphOfPlan, graphOfSpec, toDot, toMermaid, type TopologyGraph } from '../../../src/plan/graph.js';

const fixtures = join(packageRoot(), 'test', 'fixtures');

describe('vmlab graph (golden)', () => {
  for (const dir of ['newtron-specs/2node-vs', 'newtron-specs/4node']) {
    const stem = dir.replace('/', '__');
    it(`${dir}: mermaid`, () =>
      assertGolden(
        toMermaid(graphOfPlan(planFor(join(fixtures, dir)))),
        join(fixtures, 'golden', `${stem}.graph.mmd`),
      ));
    it(`${dir}: dot`, () =>
      assertGolden(toDot(graphOfPlan(planFor(join(fixtures, dir)))), join(fixtures, 'golden', `${stem}.graph.dot`)));
  }
});

describe('vmlab graph', () => {
  it('draws the same graph from a spec dir (nothing deployed, no image needed) as from its plan', () => {
    const dir = join(fixtures, 'newtron-specs/2node-vs');
    assert.deepEqual(graphOfSpec(loadSpec(dir)), graphOfPlan(planFor(dir)));
  });

  it('labels each edge with both interface names', () => {
    const g = graphOfPlan(planFor(join(fixtures, 'newtron-specs/2node-vs')));
    const id = (name: string) => `n${g.nodes.findIndex((n) => n.name === name)}`;
    assert.ok(toMermaid(g).includes(`  ${id('switch1')} ---|"Ethernet4 — eth0"| ${id('host1')}\n`));
    assert.ok(toDot(g).includes('  "switch1" -- "host1" [taillabel="Ethernet4", headlabel="eth0"];\n'));
  });

  it('escapes what would break the syntax', () => {
    const g: TopologyGraph = {
      name: 'a"b\\c',
      nodes: [
        { name: 'end', platform: 'x"y' },
        { name: 'r2', platform: null },
      ],
      links: [{ a: { node: 'end', iface: 'ge"0' }, z: { node: 'r2', iface: 'e1' } }],
    };
    assert.equal(toDot(g).split('\n')[0], 'graph "a\\"b\\\\c" {');
    assert.ok(toDot(g).includes('"end" [label="end\\nx\\"y"];'));
    // Mermaid: "end" is a keyword, so ids are n0, n1…; quotes become #quot;.
    assert.ok(toMermaid(g).includes('  n0["end<br/><small>x#quot;y</small>"]\n'));
    assert.ok(toMermaid(g).includes('  n0 ---|"ge#quot;0 — e1"| n1\n'));
  });
});
