import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import { EmbeddedQueue } from '../../src/jobs/embeddedQueue.js';
import { isAlive } from '../../src/host/processes.js';
import { openStore } from '../../src/store/database.js';
import { jobQueueSuite } from './jobQueue.suite.js';

describe('jobs: the embedded (SQLite) backend', () => {
  jobQueueSuite(async () => {
    const path = join(mkdtempSync('/tmp/vmlab-jq-'), 'vmlab.db');
    // Two connections to one store: the server's and a worker's.
    return {
      queue: new EmbeddedQueue(openStore(path), isAlive),
      other: () => new EmbeddedQueue(openStore(path), isAlive),
    };
  });
});
