import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialJob, jobReducer, type JobAction, type JobView } from '../../web/src/lib/jobState.js';

const run = (actions: JobAction[], from: JobView = initialJob('j1')) => actions.reduce(jobReducer, from);
const snap = (
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled',
  progress = 0,
  detail = '{}',
): JobAction => ({ type: 'snapshot', job: { id: 'j1', status, progress, detail, log: 'old\n', error: null } });
const prog = (progress: number, bytes: number | null = null): JobAction => ({
  type: 'progress',
  data: { status: 'running', progress, bytes, total: 100, bytes_per_sec: 10, eta_sec: 5 },
});

describe('web: the job-state reducer (record, then SSE events)', () => {
  it('a snapshot reads the transfer detail; the log comes from the stream, not twice', () => {
    const s = run([snap('running', 0.3, JSON.stringify({ bytes: 30, total: 100, bytesPerSec: 10, etaSec: 7 }))]);
    assert.equal(s.status, 'running');
    assert.deepEqual([s.progress, s.bytes, s.total, s.bytesPerSec, s.etaSec], [0.3, 30, 100, 10, 7]);
    assert.deepEqual(s.log, []);
    assert.equal(s.over, false);
  });

  it('a broken detail is no transfer, not a crash', () => {
    const s = run([snap('running', 0.3, 'not json')]);
    assert.equal(s.bytes, null);
  });

  it('progress moves forward only, and the log grows line by line', () => {
    const s = run([
      snap('queued'),
      prog(0.5, 50),
      prog(0.4, 40),
      { type: 'log', data: { line: 'a' } },
      { type: 'log', data: { line: 'b' } },
    ]);
    assert.equal(s.progress, 0.5);
    assert.equal(s.bytes, 40);
    assert.deepEqual(s.log, ['a', 'b']);
  });

  it('end: a success fills the bar; after it nothing changes the outcome', () => {
    const s = run([
      snap('running', 0.9),
      { type: 'end', data: { status: 'succeeded', error: null } },
      prog(0.2),
      { type: 'lost' },
      { type: 'log', data: { line: 'late' } },
    ]);
    assert.equal(s.status, 'succeeded');
    assert.equal(s.progress, 1);
    assert.equal(s.over, true);
    assert.equal(s.lost, false);
    assert.deepEqual(s.log, []);
  });

  it('a failure keeps its error and where the bar was', () => {
    const s = run([snap('running', 0.6), { type: 'end', data: { status: 'failed', error: 'checksum mismatch' } }]);
    assert.equal(s.status, 'failed');
    assert.equal(s.progress, 0.6);
    assert.equal(s.error, 'checksum mismatch');
  });

  it('a job already over when first seen is over (a reload after the end)', () => {
    const s = run([snap('succeeded', 0.98)]);
    assert.equal(s.over, true);
    assert.equal(s.progress, 1);
  });

  it('a lost stream is shown until the next event', () => {
    const lost = run([snap('running', 0.1), { type: 'lost' }]);
    assert.equal(lost.lost, true);
    assert.equal(run([prog(0.2)], lost).lost, false);
  });

  it('a build job shows its step: from the record, then from the stream; a stream without steps keeps it', () => {
    const s = run([snap('running', 0.3, JSON.stringify({ step: 'docker build', n: 2, of: 7 }))]);
    assert.equal(s.step, 'docker build 2/7');
    const t = run(
      [
        {
          type: 'progress',
          data: {
            status: 'running',
            progress: 0.87,
            bytes: null,
            total: null,
            bytes_per_sec: null,
            eta_sec: null,
            step: 'install (VM boots under KVM)',
            step_n: null,
            step_of: null,
          },
        },
      ],
      s,
    );
    assert.equal(t.step, 'install (VM boots under KVM)');
    assert.equal(run([prog(0.9)], t).step, t.step);
    assert.equal(run([snap('running', 0.1)]).step, '', 'a download has no step');
  });
});
