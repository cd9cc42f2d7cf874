import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisQueue } from '../../src/jobs/redisQueue.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { jobQueueSuite } from './jobQueue.suite.js';

describe('jobs: the BullMQ-on-Redis backend (a real redis-server on 127.0.0.1)', () => {
  let redis: RedisServer | undefined;
  let why: string | undefined;
  let n = 0;
  before(async () => {
    ({ redis, why } = await startRedis());
  });
  after(async () => {
    await redis?.stop();
  });
  jobQueueSuite(async () => {
    if (!redis) return { skip: `no redis-server: ${why}` };
    // A key prefix per test: each starts from empty queues.
    const prefix = `vmlab-t${++n}`;
    return { queue: new RedisQueue(redis.url, prefix), other: () => new RedisQueue(redis!.url, prefix) };
  });

  it('no Redis at the URL: a clear error at once (no hang, no stack)', async () => {
    const q = new RedisQueue('redis://127.0.0.1:29899');
    const t0 = Date.now();
    await assert.rejects(q.enqueue('build', null, {}), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'redis_unreachable');
      assert.match(
        err.message,
        /^the job queue at VMLAB_REDIS_URL=redis:\/\/127\.0\.0\.1:29899 does not answer: connect ECONNREFUSED/,
      );
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
    await q.close();
  });
});
