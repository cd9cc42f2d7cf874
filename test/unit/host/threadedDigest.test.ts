import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrowingFileDigest, hashFileThreaded, ThreadedDigest } from '../../../src/host/threadedDigest.js';

const sink = () => new Writable({ write: (_c, _e, done) => done() });

describe('ThreadedDigest', () => {
  it('gives the digest createHash gives, whatever the chunk sizes and batch boundaries', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 4321);
    for (const size of [1, 65_536, 1 << 20, 3 * 1024 * 1024 + 7]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < (size === 1 ? 4096 : data.length); at += size) chunks.push(data.subarray(at, at + size));
      const whole = Buffer.concat(chunks);
      const digest = new ThreadedDigest('sha256');
      let passed = 0;
      await pipeline(
        Readable.from(chunks),
        digest,
        new Writable({
          write: (c: Buffer, _e, done) => {
            passed += c.length;
            done();
          },
        }),
      );
      assert.equal(passed, whole.length, 'every byte passes through');
      assert.equal(await digest.digest(), createHash('sha256').update(whole).digest('hex'), `chunks of ${size}`);
    }
  });

  it('hashes an empty stream, and sha512 too', async () => {
    const digest = new ThreadedDigest('sha512');
    await pipeline(Readable.from([]), digest, sink());
    assert.equal(await digest.digest(), createHash('sha512').digest('hex'));
  });

  it('a stream that fails rejects the digest and stops the thread', async () => {
    const digest = new ThreadedDigest('sha256');
    const source = new Readable({ read() {} });
    source.push(randomBytes(3 << 20));
    const run = pipeline(source, digest, sink());
    setImmediate(() => source.destroy(new Error('client went away')));
    await assert.rejects(run, /client went away/);
    await assert.rejects(digest.digest());
  });
});

describe('GrowingFileDigest', () => {
  it('hashes a file in order as it is written, whatever the steps, and fails if the file is shorter than said', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-growing-'));
    try {
      const data = randomBytes(5 * 1024 * 1024 + 17);
      const path = join(dir, 'f');
      const fd = openSync(path, 'w');
      const d = new GrowingFileDigest(path, ['sha256', 'sha512']);
      // Written out of order, advanced only over what is contiguous.
      writeSync(fd, data, 3 << 20, data.length - (3 << 20), 3 << 20);
      writeSync(fd, data, 0, 1 << 20, 0);
      d.advance(1 << 20);
      writeSync(fd, data, 1 << 20, 2 << 20, 1 << 20);
      d.advance(2 << 20);
      d.advance(1 << 20); // going back is ignored
      closeSync(fd);
      const got = await d.finish(data.length);
      assert.deepEqual(got, {
        sha256: createHash('sha256').update(data).digest('hex'),
        sha512: createHash('sha512').update(data).digest('hex'),
      });
      d.stop();

      const short = new GrowingFileDigest(path, ['sha256']);
      await assert.rejects(short.finish(data.length + 1), /ends at byte/);
      short.stop();
      assert.equal((await hashFileThreaded(path, ['sha256'])).sha256, createHash('sha256').update(data).digest('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
