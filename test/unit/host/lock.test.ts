import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { VmlabError } from '../../../src/errors/vmlabError.js';
import { withLock } from '../../../src/host/lock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withLock', () => {
  it('a waiter whose directory is removed meanwhile (a concurrent destroy) takes the lock instead of failing', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vmlab-lock-')), 'lab');
    const lock = join(dir, 'lock');
    const order: string[] = [];
    const first = withLock(lock, 'lab', async () => {
      await sleep(300);
      rmSync(dir, { recursive: true, force: true }); // what destroy does
      order.push('first');
    });
    await sleep(50);
    const second = withLock(lock, 'lab', async () => void order.push('second'));
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(existsSync(lock), false);
  });

  it('an empty lock file (its holder is still writing its pid) is not taken over while young; an old one is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-lock-'));
    const lock = join(dir, 'lock');
    writeFileSync(lock, '');
    await assert.rejects(
      withLock(lock, 'lab "x"', async () => undefined, 300),
      (e: VmlabError) => e.code === 'busy' && e.kind === 'conflict',
    );
    const old = new Date(Date.now() - 10_000);
    utimesSync(lock, old, old);
    assert.equal(await withLock(lock, 'lab "x"', async () => 'got it', 300), 'got it');
  });

  it('a lock whose holder is dead is taken over; a live holder makes it busy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-lock-'));
    const lock = join(dir, 'lock');
    writeFileSync(lock, '999999999');
    assert.equal(await withLock(lock, 'lab', async () => 1, 300), 1);
    writeFileSync(lock, String(process.ppid));
    await assert.rejects(
      withLock(lock, 'lab "y"', async () => 1, 200),
      /lab "y" is busy: another vmlab \(pid \d+\)/,
    );
  });
});
