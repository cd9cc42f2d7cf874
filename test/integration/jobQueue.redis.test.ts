import { after, before, describe } from 'node:test';
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
});
