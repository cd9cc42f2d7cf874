import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseListeners } from '../../../src/plan/startOrder.js';

describe('chooseListeners', () => {
  it('lets A listen and starts Z after A', () => {
    const r = chooseListeners(
      ['a', 'b', 'c'],
      [
        { a: 'c', z: 'a' },
        { a: 'a', z: 'b' },
      ],
    );
    assert.deepEqual(r.listener, ['a', 'a']);
    assert.deepEqual(r.order, ['c', 'a', 'b']);
    assert.deepEqual(r.flipped, []);
  });

  it('turns a link round instead of making a start-order cycle', () => {
    // r1 listens for r2, r2 for r3, r3 for r1: the last link would close a cycle.
    const r = chooseListeners(
      ['r1', 'r2', 'r3'],
      [
        { a: 'r1', z: 'r2' },
        { a: 'r2', z: 'r3' },
        { a: 'r3', z: 'r1' },
      ],
    );
    assert.deepEqual(r.listener, ['a', 'a', 'z']);
    assert.deepEqual(r.flipped, [2]);
    assert.deepEqual(r.order, ['r1', 'r2', 'r3']);
  });

  it('handles two links between the same pair in opposite directions', () => {
    const r = chooseListeners(
      ['x', 'y'],
      [
        { a: 'x', z: 'y' },
        { a: 'y', z: 'x' },
      ],
    );
    assert.deepEqual(r.listener, ['a', 'z']);
    assert.deepEqual(r.order, ['x', 'y']);
  });
});
