import { describe, expect, it } from 'vitest';
import { chooseListeners } from '../../../src/plan/startOrder.js';

describe('chooseListeners', () => {
  it('lets A listen and starts Z after A', () => {
    const r = chooseListeners(['a', 'b', 'c'], [{ a: 'c', z: 'a' }, { a: 'a', z: 'b' }]);
    expect(r.listener).toEqual(['a', 'a']);
    expect(r.order).toEqual(['c', 'a', 'b']);
    expect(r.flipped).toEqual([]);
  });

  it('turns a link round instead of making a start-order cycle', () => {
    // r1 listens for r2, r2 for r3, r3 for r1: the last link would close a cycle.
    const r = chooseListeners(['r1', 'r2', 'r3'], [{ a: 'r1', z: 'r2' }, { a: 'r2', z: 'r3' }, { a: 'r3', z: 'r1' }]);
    expect(r.listener).toEqual(['a', 'a', 'z']);
    expect(r.flipped).toEqual([2]);
    expect(r.order).toEqual(['r1', 'r2', 'r3']);
  });

  it('handles two links between the same pair in opposite directions', () => {
    const r = chooseListeners(['x', 'y'], [{ a: 'x', z: 'y' }, { a: 'y', z: 'x' }]);
    expect(r.listener).toEqual(['a', 'z']);
    expect(r.order).toEqual(['x', 'y']);
  });
});
