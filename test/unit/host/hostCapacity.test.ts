import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { hostCapacity, loadText, processCost } from '../../../src/host/hostCapacity.js';

describe('hostCapacity', () => {
  it('reads cores, memory and load from this host', () => {
    const c = hostCapacity();
    assert.ok(c.cores >= 1);
    assert.ok(c.mem_available_mb > 0 && c.mem_available_mb <= c.mem_total_mb);
    assert.equal(c.load.length, 3);
    assert.match(loadText({ cores: 2, load: [23.1, 1, 1] }), /^host load 23.1 on 2 cores$/);
  });

  it('reads a process\'s RSS and CPU time from /proc; null once it is gone', async () => {
    // A child that burns CPU for ~300 ms and holds 64 MiB.
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 2 ** 20, 1); const t = Date.now(); while (Date.now() - t < 300); setTimeout(() => b.length, 60000)']);
    try {
      await new Promise((r) => setTimeout(r, 1200));
      const c = processCost(child.pid!)!;
      assert.ok(c.rss_bytes > 64 * 2 ** 20, `rss ${c.rss_bytes}`);
      assert.ok(c.cpu_seconds >= 0.2, `cpu ${c.cpu_seconds}`);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    assert.equal(processCost(child.pid!), null);
  });
});
