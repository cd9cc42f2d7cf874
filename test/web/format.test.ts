import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, percent, progressLine, shortSha } from '../../web/src/lib/format.js';

describe('web: progress formatting', () => {
  it('bytes in binary units, unknown as a dash', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
    assert.equal(formatBytes(3.25 * 1024 ** 3), '3.3 GiB');
    assert.equal(formatBytes(null), '—');
    assert.equal(formatBytes(-1), '—');
    assert.equal(formatBytes(Number.NaN), '—');
  });

  it('durations', () => {
    assert.equal(formatDuration(4.4), '4 s');
    assert.equal(formatDuration(185), '3 min 05 s');
    assert.equal(formatDuration(3720), '1 h 02 min');
    assert.equal(formatDuration(null), '—');
  });

  it('percent floors and clamps: 99.6 % is not shown as done', () => {
    assert.equal(percent(0.996), 99);
    assert.equal(percent(1), 100);
    assert.equal(percent(1.2), 100);
    assert.equal(percent(-0.1), 0);
    assert.equal(percent(Number.NaN), 0);
  });

  it('one line: percent, bytes of total, speed, time left; unknowns left out', () => {
    assert.equal(
      progressLine({
        progress: 0.42,
        bytes: 21 * 1024 ** 2,
        total: 50 * 1024 ** 2,
        bytesPerSec: 5 * 1024 ** 2,
        etaSec: 6,
      }),
      '42 % · 21 MiB of 50 MiB · 5.0 MiB/s · 6 s left',
    );
    assert.equal(
      progressLine({ progress: 0.1, bytes: 2048, total: null, bytesPerSec: null, etaSec: null }),
      '10 % · 2.0 KiB',
    );
    assert.equal(
      progressLine({ progress: 1, bytes: 10, total: 10, bytesPerSec: 0, etaSec: 0 }),
      '100 % · 10 B of 10 B',
    );
    assert.equal(progressLine({ progress: 0, bytes: null, total: null, bytesPerSec: null, etaSec: null }), '0 %');
  });

  it('short digests', () => {
    assert.equal(shortSha('0123456789abcdef0123'), '0123456789ab');
    assert.equal(shortSha(null), '—');
  });
});
