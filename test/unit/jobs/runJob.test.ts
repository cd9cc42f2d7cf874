import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../../src/store/database.js';
import { JobStore } from '../../../src/jobs/jobStore.js';
import { runJob } from '../../../src/jobs/runJob.js';

const jobStore = () => new JobStore(openStore(join(mkdtempSync(join(tmpdir(), 'vmlab-jobs-')), 'vmlab.db')));

describe('jobs', () => {
  it('persists progress, log and success', async () => {
    const jobs = jobStore();
    const job = jobs.create('download', 'img1', { url: 'http://x' });
    const seen: number[] = [];
    const result = await runJob(jobs, job, async (ctx) => {
      ctx.log('starting');
      ctx.progress(0.5, { bytes: 5 });
      return 42;
    }, { progress: (f) => seen.push(f) });
    assert.equal(result, 42);
    const done = jobs.get(job.id)!;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.progress, 1);
    assert.match(done.log, /starting\n$/);
    assert.deepEqual(seen, [0.5]);
  });

  it('records a failure with its message', async () => {
    const jobs = jobStore();
    const job = jobs.create('convert', null);
    await assert.rejects(runJob(jobs, job, async () => {
      throw new Error('qemu-img said no');
    }), /qemu-img said no/);
    assert.equal(jobs.get(job.id)!.status, 'failed');
    assert.equal(jobs.get(job.id)!.error, 'qemu-img said no');
  });

  it('cancels through the store (as another process would)', async () => {
    const jobs = jobStore();
    const job = jobs.create('download', null);
    const running = runJob(jobs, job, (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted by cancel')))));
    assert.equal(jobs.requestCancel(job.id), true);
    await assert.rejects(running, /aborted by cancel/);
    assert.equal(jobs.get(job.id)!.status, 'cancelled');
    assert.equal(jobs.requestCancel(job.id), false); // finished jobs cannot be cancelled
  });
});
