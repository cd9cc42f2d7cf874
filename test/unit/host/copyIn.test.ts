import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyHashed } from '../../../src/host/copyIn.js';

let dir: string;
const data = randomBytes(9 * 1024 * 1024 + 4321);
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmlab-copyin-'));
  writeFileSync(join(dir, 'src'), data);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('copyHashed', () => {
  it('copies and hashes in one pass: the copy is identical, private, and its digests are right', async () => {
    const seen: number[] = [];
    const r = await copyHashed(join(dir, 'src'), join(dir, 'a'), ['sha256', 'sha512'], {
      onProgress: (b) => seen.push(b),
    });
    assert.ok(readFileSync(join(dir, 'a')).equals(data));
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o600);
    assert.equal(r.digests.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(r.digests.sha512, createHash('sha512').update(data).digest('hex'));
    // ext4 (CI) has no reflinks: a chunked copy, with progress as it goes.
    if (r.method === 'copy') {
      assert.equal(r.bytesCopied, data.length);
      assert.equal(seen.at(-1), data.length);
      assert.ok(seen.length >= 3, `progress ${seen.join(',')}`);
    }
  });

  it('never overwrites, and a cancelled copy leaves nothing', async () => {
    writeFileSync(join(dir, 'taken'), 'x');
    await assert.rejects(copyHashed(join(dir, 'src'), join(dir, 'taken'), ['sha256']), { code: 'EEXIST' });
    assert.equal(readFileSync(join(dir, 'taken'), 'utf8'), 'x');
    const abort = new AbortController();
    abort.abort(new Error('cancelled'));
    const r = copyHashed(join(dir, 'src'), join(dir, 'b'), ['sha256'], { signal: abort.signal });
    await r.then(
      (x) => assert.equal(x.method, 'reflink', 'only a reflink (instant) may finish before the cancel is seen'),
      (e: Error) => {
        assert.match(e.message, /cancelled/);
        assert.ok(!existsSync(join(dir, 'b')));
      },
    );
  });
});
