import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobDelta } from '../../src/api/jobEvents.js';
import type { JobRecord } from '../../src/service/index.js';

const job = (over: Partial<JobRecord>): JobRecord => ({
  id: 'j1',
  kind: 'build',
  target: 'img1',
  params: '{}',
  status: 'running',
  progress: 0,
  detail: '{}',
  log: '',
  error: null,
  cancel_requested: 0,
  pid: null,
  created_at: '2026-01-01T00:00:00Z',
  started_at: null,
  finished_at: null,
  ...over,
});

describe('api: job events (SSE) carry a build step', () => {
  it('progress names the step and docker build’s n of m; a download has none', () => {
    const d = new JobDelta();
    const [e] = d.next(job({ progress: 0.4, detail: JSON.stringify({ step: 'docker build', n: 3, of: 7 }) }));
    assert.equal(e?.event, 'progress');
    assert.deepEqual([e?.data.step, e?.data.step_n, e?.data.step_of], ['docker build', 3, 7]);
    const [f] = new JobDelta().next(job({ kind: 'download', detail: JSON.stringify({ bytes: 1, total: 2 }) }));
    assert.deepEqual([f?.data.step, f?.data.step_n, f?.data.step_of, f?.data.bytes], [null, null, null, 1]);
  });
});
