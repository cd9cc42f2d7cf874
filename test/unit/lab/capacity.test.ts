import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkMemory,
  nodeCostMb,
  nodesThatFit,
  plannedMemoryMb,
  QEMU_OVERHEAD_MB,
} from '../../../src/lab/lifecycle/capacity.js';
import { LabError } from '../../../src/lab/labError.js';

const lab = (sizes: number[], accel: 'tcg' | 'kvm' = 'tcg') => ({
  name: 'big',
  accel,
  specDir: '/specs/big',
  nodes: sizes.map((memoryMb) => ({ memoryMb })) as never,
});

describe('capacity', () => {
  it('plans guest RAM plus QEMU overhead per node', () => {
    assert.equal(nodeCostMb(128, 'tcg'), 128 + QEMU_OVERHEAD_MB.tcg);
    assert.equal(plannedMemoryMb(lab([128, 512], 'kvm')), 640 + 2 * QEMU_OVERHEAD_MB.kvm);
    assert.equal(nodesThatFit(128, 'tcg', 10 * nodeCostMb(128, 'tcg') + 1), 10);
    assert.equal(nodesThatFit(4096, 'tcg', 100), 0);
  });

  it('refuses a lab that does not fit, saying how much is missing; force lets it through', () => {
    const need = plannedMemoryMb(lab([4096, 4096]));
    assert.doesNotThrow(() => checkMemory(lab([4096, 4096]), need, false));
    assert.throws(
      () => checkMemory(lab([4096, 4096]), need - 300, false),
      (e: unknown) =>
        e instanceof LabError &&
        e.code === 'insufficient_memory' &&
        e.kind === 'conflict' &&
        e.message ===
          `lab "big" needs ${need} MiB of memory (2 node(s): guest RAM + ${QEMU_OVERHEAD_MB.tcg} MiB of QEMU each) but this host has ${need - 300} MiB available: 300 MiB missing` &&
        /--force/.test(e.hint ?? ''),
    );
    assert.doesNotThrow(() => checkMemory(lab([4096, 4096]), 1, true));
  });
});
