import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binaryVersion,
  devicesOf,
  machineOf,
  qmpVersion,
  snapshotBytes,
  snapshotMismatches,
  type CurrentNode,
  type SnapshotRecord,
} from '../../../src/lab/state/snapshotFacts.js';
import { checkSnapshotName } from '../../../src/lab/snapshot/snapshotRecord.js';
import { LabError } from '../../../src/lab/labError.js';
import { planForAccel } from '../../../src/plan/accelPlan.js';
import type { NodePlan } from '../../../src/plan/labPlan.js';
import { baseSpec, writeSpecDir } from '../../helpers/specDir.js';
import { planFor } from '../../helpers/planFor.js';

const plan = planFor(writeSpecDir(baseSpec(), 'sparse'));
const node = (name: string) => plan.nodes.find((n) => n.name === name)!;

/** A record of the plan as it is: what `vmlab snapshot` would write. */
function recordOf(nodes: NodePlan[], accel = 'tcg', version = '7.2.22'): SnapshotRecord {
  return {
    name: 'base',
    created: '2026-01-01T00:00:00Z',
    kind: 'full',
    accel,
    machine: 'q35',
    qemu_version: version,
    nodes: Object.fromEntries(
      nodes.map((n) => [
        n.name,
        { ...devicesOf(n), accel, qemu_version: version, vm_state_bytes: 100, overlay_bytes: 200 },
      ]),
    ),
    links: [],
    took_ms: 1,
  };
}
const current = (nodes: NodePlan[], accel = 'tcg', version = '7.2.22'): CurrentNode[] =>
  nodes.map((n) => ({ plan: n, accel, qemu_version: version }));

describe('snapshot facts', () => {
  it('reads the machine type and QEMU versions', () => {
    assert.equal(machineOf(node('r1').argv), 'q35');
    assert.equal(machineOf(['qemu', '-machine', 'type=pc-q35-7.2,accel=kvm']), 'pc-q35-7.2');
    assert.equal(machineOf(['qemu']), 'default');
    assert.equal(qmpVersion({ qemu: { major: 7, minor: 2, micro: 22 }, package: ' (Debian)' }), '7.2.22');
    assert.equal(qmpVersion(undefined), 'unknown');
    assert.equal(binaryVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright'), '7.2.22');
  });

  it('records every NIC by index and MAC, and the drives', () => {
    const d = devicesOf(node('r1'));
    assert.deepEqual(
      d.nics.map((n) => n.index),
      node('r1').nics.map((n) => n.index),
    );
    assert.deepEqual(
      d.nics.map((n) => n.mac),
      node('r1').nics.map((n) => n.mac),
    );
    assert.equal(d.memory_mb, 256);
    assert.equal(d.nic_driver, 'e1000');
    assert.deepEqual(d.disks, ['qcow2 overlay']);
    assert.deepEqual(devicesOf({ ...node('r1'), seed: { path: '/s.iso', user: 'debian' } }).disks, [
      'qcow2 overlay',
      'raw seed (read-only)',
    ]);
  });

  it('the same lab fits its own snapshot', () => {
    assert.deepEqual(snapshotMismatches(recordOf(plan.nodes), current(plan.nodes)), []);
  });

  it('names each difference: expected (recorded), got (now)', () => {
    const rec = recordOf(plan.nodes);
    const changed = plan.nodes.map((n) => (n.name === 'r2' ? { ...n, memoryMb: 512, nics: n.nics.slice(0, -1) } : n));
    const diffs = snapshotMismatches(rec, current(changed, 'kvm', '8.0.0'));
    assert.ok(diffs.includes('r2 memory: expected 256 MiB, got 512 MiB'), diffs.join('\n'));
    assert.ok(diffs.includes('r1 accelerator: expected tcg, got kvm'), diffs.join('\n'));
    assert.ok(diffs.includes('r3 QEMU version: expected 7.2.22, got 8.0.0'), diffs.join('\n'));
    assert.ok(
      diffs.some((d) => /^r2 NICs: expected .+, got .+/.test(d)),
      diffs.join('\n'),
    );
    assert.ok(!diffs.some((d) => d.startsWith('r1 memory')));
  });

  it('a lab re-planned under another accelerator (CPU model) or with another node set does not fit', () => {
    const kvm = planForAccel(
      { ...plan, accel: 'kvm', nodes: plan.nodes.map((n) => ({ ...n, cpuModel: 'host' })) },
      'tcg',
    );
    const rec = recordOf(
      plan.nodes.map((n) => ({ ...n, cpuModel: 'host' })),
      'kvm',
    );
    const diffs = snapshotMismatches(rec, current(kvm.nodes, 'tcg'));
    assert.ok(diffs.includes('r1 CPU model: expected host, got max'), diffs.join('\n'));
    assert.ok(diffs.includes('r1 accelerator: expected kvm, got tcg'), diffs.join('\n'));
    assert.deepEqual(snapshotMismatches(recordOf(plan.nodes.slice(0, 2)), current(plan.nodes)), [
      'nodes: expected r1, r2, got r1, r2, r3',
    ]);
  });

  it('sums the VM state of every node', () => {
    assert.equal(snapshotBytes(recordOf(plan.nodes)), 300);
  });

  it('snapshot names follow the lab-name rule and are not digits only', () => {
    for (const good of ['base', 'before-upgrade', 'v1.2_x']) checkSnapshotName(good);
    for (const bad of ['', 'a/b', 'with space', '..', '1', '0042', 'x'.repeat(65)]) {
      assert.throws(
        () => checkSnapshotName(bad),
        (e: unknown) => e instanceof LabError && e.kind === 'input' && e.code === 'invalid_name',
        bad,
      );
    }
  });
});
