import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addLink, dropNode, drawnLinks, linkProblem, removeLink } from '../../web/src/lib/drawnLinks.js';
import { buildSpec, checkWizard, wire, type NodePair, type WizardInput } from '../../web/src/lib/wizardSpec.js';

const names = ['r1', 'r2', 'r3'];

describe('web: links drawn on the wizard graph', () => {
  it('interfaces in drawing order, eth1, eth2… per node, the drag start first', () => {
    let d: NodePair[] = [];
    d = addLink(d, names, 0, 1);
    d = addLink(d, names, 2, 0);
    d = addLink(d, names, 1, 2);
    assert.deepEqual(d, [
      { a: 0, z: 1 },
      { a: 2, z: 0 },
      { a: 1, z: 2 },
    ]);
    assert.deepEqual(
      drawnLinks(names, d).map((l) => [l.index, l.source, l.target, l.a, l.z, l.label]),
      [
        [0, 0, 1, 'r1:eth1', 'r2:eth1', 'eth1 ↔ eth1'],
        [1, 2, 0, 'r3:eth1', 'r1:eth2', 'eth1 ↔ eth2'],
        [2, 1, 2, 'r2:eth2', 'r3:eth2', 'eth2 ↔ eth2'],
      ],
    );
    assert.equal(new Set(drawnLinks(names, d).map((l) => l.id)).size, 3);
  });

  it('the same interfaces as chain and star when drawn the same way', () => {
    assert.deepEqual(
      wire(names, 'drawn', [
        { a: 0, z: 1 },
        { a: 1, z: 2 },
      ]),
      wire(names, 'chain'),
    );
    assert.deepEqual(
      wire(names, 'drawn', [
        { a: 0, z: 1 },
        { a: 0, z: 2 },
      ]),
      wire(names, 'star'),
    );
    assert.deepEqual(wire(names, 'drawn'), []);
  });

  it('refused: a node to itself, a pair already linked (either way), a node that is not there', () => {
    const d = [{ a: 0, z: 1 }];
    assert.match(linkProblem(d, names, 2, 2)!, /two different nodes/);
    assert.match(linkProblem(d, names, 1, 0)!, /r2 and r1 are already linked/);
    assert.match(linkProblem(d, names, 0, 3)!, /two nodes/);
    assert.match(linkProblem(d, names, -1, 0)!, /two nodes/);
    assert.equal(linkProblem(d, names, 1, 2), null);
    assert.deepEqual(addLink(d, names, 1, 0), d);
    assert.notEqual(addLink(d, names, 1, 0), d, 'a new array either way');
  });

  it('removing a link renumbers the later links on the same nodes, with no gap', () => {
    const d = [
      { a: 0, z: 1 },
      { a: 0, z: 2 },
      { a: 1, z: 2 },
    ];
    const after = removeLink(d, 0);
    assert.deepEqual(after, [
      { a: 0, z: 2 },
      { a: 1, z: 2 },
    ]);
    assert.deepEqual(
      drawnLinks(names, after).map((l) => [l.index, l.a, l.z]),
      [
        [0, 'r1:eth1', 'r3:eth1'],
        [1, 'r2:eth1', 'r3:eth2'],
      ],
    );
    assert.deepEqual(removeLink(d, 7), d);
  });

  it('a node removed from the wizard takes its links; the later nodes move up', () => {
    const d = [
      { a: 0, z: 1 },
      { a: 1, z: 2 },
      { a: 2, z: 0 },
    ];
    assert.deepEqual(dropNode(d, 1), [{ a: 1, z: 0 }]);
    assert.deepEqual(dropNode(d, 2), [{ a: 0, z: 1 }]);
    // Links are by index: renaming a node needs nothing, the names are read when the spec is made.
    assert.deepEqual(
      drawnLinks(['x', 'y'], dropNode(d, 1)).map((l) => [l.a, l.z]),
      [['y:eth1', 'x:eth1']],
    );
  });

  it('links to nodes that are not there (any more) are left out, here and in the spec', () => {
    const d = [
      { a: 0, z: 5 },
      { a: 1, z: 1 },
      { a: 1, z: 0 },
    ];
    assert.deepEqual(
      drawnLinks(names, d).map((l) => [l.index, l.a, l.z]),
      [[2, 'r2:eth1', 'r1:eth1']],
    );
    assert.deepEqual(wire(names, 'drawn', d), [{ a: 'r2:eth1', z: 'r1:eth1' }]);
  });

  it('the spec: the drawn links, as chain and star links are; only in the drawn wiring', () => {
    const input: WizardInput = {
      lab: 'drawn',
      nodes: names.map((name) => ({ name, image: 'tiny', memory: 256, cpus: 1 })),
      wiring: 'drawn',
      drawn: [
        { a: 1, z: 2 },
        { a: 0, z: 2 },
      ],
      cloudInit: { importSshKeys: false, packages: '', runcmd: '' },
      portBase: 29300,
    };
    const s = buildSpec(input);
    assert.deepEqual(s.topology.links, [
      { a: 'r2:eth1', z: 'r3:eth1' },
      { a: 'r1:eth1', z: 'r3:eth2' },
    ]);
    assert.deepEqual(
      s.topology.links,
      drawnLinks(names, input.drawn!).map(({ a, z }) => ({ a, z })),
    );
    assert.deepEqual(s.topology.vmlab, {
      name: 'drawn',
      link_port_base: 29300,
      console_port_base: 29310,
      ssh_port_base: 29320,
    });
    assert.deepEqual(checkWizard(input), {});
    assert.deepEqual(buildSpec({ ...input, drawn: [] }).topology.links, []);
    assert.equal(buildSpec({ ...input, wiring: 'chain' }).topology.links.length, 2);
    assert.deepEqual(buildSpec({ ...input, wiring: 'none' }).topology.links, []);
  });
});
