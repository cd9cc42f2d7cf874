import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultMaxParallel, scheduleBoots, type BootNode } from '../../../src/lab/lifecycle/bootScheduler.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

/** A ring of n nodes as the planner orders it: each after the one before (listeners first). */
const ring = (n: number): BootNode[] =>
  Array.from({ length: n }, (_, i) => ({ name: `n${i}`, after: i ? [`n${i - 1}`] : [] }));

/** Run a schedule where each node is ready after `readyTicks[name]` ticks; log every event and the most booting at once. */
async function simulate(
  nodes: BootNode[],
  limit: number,
  readyTicks: (name: string) => number,
  opts: { failStart?: string; stop?: AbortController; stopAfterStarts?: number } = {},
) {
  const events: string[] = [];
  let booting = 0;
  let most = 0;
  const waves: string[] = [];
  const run = scheduleBoots(
    nodes,
    nodes.map((n) => n.name),
    limit,
    {
      start: async (name) => {
        await tick();
        if (name === opts.failStart) throw new Error(`${name} did not start`);
        events.push(`start ${name}`);
        if (opts.stop && events.filter((e) => e.startsWith('start')).length === opts.stopAfterStarts) opts.stop.abort();
      },
      ready: async (name) => {
        booting++;
        most = Math.max(most, booting);
        for (let i = 0; i < readyTicks(name); i++) await tick();
        booting--;
        events.push(`ready ${name}`);
      },
      starting: (name, at) => waves.push(`${name}:${at.wave}/${at.waves}`),
    },
    opts.stop?.signal,
  );
  return { run, events, waves, most: () => most };
}

describe('scheduleBoots', () => {
  it('never has more than the limit booting, and frees a slot only when a node is ready', async () => {
    const s = await simulate(ring(7), 2, (n) => (n === 'n0' ? 20 : 3));
    await s.run;
    assert.equal(s.most(), 2);
    assert.deepEqual(
      s.events.filter((e) => e.startsWith('start')),
      ring(7).map((n) => `start ${n.name}`),
    );
    // n0 is slow: n2 waits for a slot that n1 frees, not for n0.
    assert.ok(s.events.indexOf('start n2') > s.events.indexOf('ready n1'));
    assert.ok(s.events.indexOf('start n2') < s.events.indexOf('ready n0'));
    assert.equal(s.events.filter((e) => e.startsWith('ready')).length, 7);
    assert.deepEqual(s.waves, ['n0:1/4', 'n1:1/4', 'n2:2/4', 'n3:2/4', 'n4:3/4', 'n5:3/4', 'n6:4/4']);
  });

  it('starts a node only after the nodes it connects to have started', async () => {
    const nodes: BootNode[] = [
      { name: 'a', after: [] },
      { name: 'b', after: ['a'] },
      { name: 'c', after: ['a', 'b'] },
    ];
    const s = await simulate(nodes, 3, () => 2);
    await s.run;
    assert.deepEqual(
      s.events.filter((e) => e.startsWith('start')),
      ['start a', 'start b', 'start c'],
    );
  });

  it('a start that fails stops the schedule: what booted is waited for, then the error is thrown', async () => {
    const s = await simulate(ring(5), 2, () => 3, { failStart: 'n2' });
    await assert.rejects(s.run, /n2 did not start/);
    for (const e of ['start n0', 'start n1', 'ready n0', 'ready n1'])
      assert.ok(s.events.includes(e), `${e} in ${s.events.join(', ')}`);
    assert.ok(!s.events.some((e) => /n[234]/.test(e)), s.events.join(', '));
  });

  it('a stop signal starts nothing more but waits for what is booting', async () => {
    const stop = new AbortController();
    const s = await simulate(ring(6), 3, () => 2, { stop, stopAfterStarts: 2 });
    await s.run;
    assert.deepEqual(
      s.events.filter((e) => e.startsWith('start')),
      ['start n0', 'start n1'],
    );
    assert.deepEqual(s.events.filter((e) => e.startsWith('ready')).sort(), ['ready n0', 'ready n1']);
  });

  it('a limit above the node count boots everything at once', async () => {
    const s = await simulate(ring(3), 8, () => 5);
    await s.run;
    assert.equal(s.most(), 3);
  });
});

describe('defaultMaxParallel', () => {
  it('is the core count under TCG, twice that under KVM, at least 1', () => {
    assert.equal(defaultMaxParallel('tcg', 2), 2);
    assert.equal(defaultMaxParallel('kvm', 2), 4);
    assert.equal(defaultMaxParallel('tcg', 0), 1);
  });
});
