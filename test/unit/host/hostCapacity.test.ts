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

  it("reads a process's RSS and CPU time from /proc; null once it is gone", async () => {
    // A child that burns 300 ms of its own CPU time (not wall time: a loaded
    // host stretches that) and holds 64 MiB, then says so.
    const burn =
      'const b = Buffer.alloc(64 * 2 ** 20, 1); const used = () => { const u = process.cpuUsage(); return u.user + u.system; };' +
      ' while (used() < 300000); process.stdout.write("ready\\n"); setTimeout(() => b.length, 60000)';
    const child = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the CPU-burning child exited (${code}) before it was ready`)));
      });
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
