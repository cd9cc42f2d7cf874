import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LabPlan, NodePlan } from '../../../src/plan/labPlan.js';
import { LabError } from '../../../src/lab/labError.js';
import { checkBeforeDeploy } from '../../../src/lab/lifecycle/deployChecks.js';
import { chooseStartSource } from '../../../src/lab/lifecycle/startSource.js';

const quiet = { info: () => {}, warn: () => {}, verbose: () => {} };
const node = (name: string, checkpoint?: string) => {
  const cp = checkpoint ? { checkpoint: { name: checkpoint, snapshot: 'vmlab-checkpoint' } } : {};
  return { name, memoryMb: 128, ...cp } as NodePlan;
};
const plan = (nodes: NodePlan[], memoryMb = 128) =>
  ({ name: 'lab1', specDir: '/specs/lab1', accel: 'tcg', nodes: nodes.map((n) => ({ ...n, memoryMb })) }) as LabPlan;

describe('start sources', () => {
  it('cold: nothing added to QEMU, and a KVM crash may restart under TCG', async () => {
    const s = await chooseStartSource(plan([node('r1'), node('r2')]), quiet);
    assert.equal(s.from, '');
    assert.equal(s.placed, 'created');
    assert.deepEqual(s.qemuArgs(node('r1')), []);
    assert.equal(typeof s.restartDisks, 'function');
  });

  it('checkpoints: their nodes load the saved state, the others boot; no TCG restart', async () => {
    const p = plan([node('r1', 'cp'), node('r2')]);
    const s = await chooseStartSource(p, quiet);
    assert.equal(s.from, ', 1 warm from checkpoints');
    assert.deepEqual(s.qemuArgs(p.nodes[0]!), ['-loadvm', 'vmlab-checkpoint']);
    assert.deepEqual(s.qemuArgs(p.nodes[1]!), []);
    assert.equal(s.restartDisks, undefined);
    await s.answered({} as never, p.nodes[1]!, {}); // a node booted cold needs no identity
  });
});

describe('checkBeforeDeploy', () => {
  it('refuses a lab that does not fit unless forced, and a snapshot that is not there', () => {
    const root = mkdtempSync(join(tmpdir(), 'vmlab-checks-'));
    try {
      const huge = plan([node('r1')], 2 ** 30);
      const memory = (e: unknown) => e instanceof LabError && e.code === 'insufficient_memory';
      assert.throws(() => checkBeforeDeploy(huge, root, {}), memory);
      assert.equal(checkBeforeDeploy(huge, root, { force: true }), undefined);
      assert.throws(
        () => checkBeforeDeploy(plan([node('r1')]), root, { snapshot: 'nosuch' }),
        (e: unknown) => e instanceof LabError && e.code === 'snapshot_not_found',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
