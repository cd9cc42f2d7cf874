import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  applySnapshot,
  createOverlay,
  createSnapshot,
  deleteSnapshot,
  keepOnlySnapshot,
  overlayInfo,
  qcow2Info,
  rebaseUnsafe,
} from '../../../src/qemu/qemuImg.js';
import { QemuError } from '../../../src/qemu/qemuError.js';
import { run } from '../../../src/host/subprocess.js';

const dir = mkdtempSync(join(tmpdir(), 'vmlab-qemuimg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const base = join(dir, 'base.raw');
const overlay = join(dir, 'node.qcow2');

describe('qemu-img wrappers', () => {
  before(async () => {
    assert.equal((await run(['qemu-img', 'create', '-q', '-f', 'raw', base, '1M'])).exitCode, 0);
    await createOverlay(base, 'raw', overlay);
  });

  it('creates, lists, applies and deletes internal disk snapshots', async () => {
    await createSnapshot(overlay, 'one');
    await createSnapshot(overlay, 'two');
    const info = await overlayInfo(overlay);
    assert.deepEqual(
      info.snapshots.map((s) => s.name),
      ['one', 'two'],
    );
    assert.equal(info.snapshots[0]!['vm-state-size'], 0);
    assert.ok(info.bytes > 0);
    await applySnapshot(overlay, 'one');
    await deleteSnapshot(overlay, 'one');
    assert.deepEqual(
      (await overlayInfo(overlay)).snapshots.map((s) => s.name),
      ['two'],
    );
  });

  it('keeps only the one snapshot a travelling copy must hold', async () => {
    await createSnapshot(overlay, 'a');
    await createSnapshot(overlay, 'b');
    await keepOnlySnapshot(overlay, 'b');
    assert.deepEqual(
      (await overlayInfo(overlay)).snapshots.map((s) => s.name),
      ['b'],
    );
  });

  it('re-points the backing file without touching the data', async () => {
    await rebaseUnsafe(overlay, 'elsewhere.raw', 'raw', 'the test overlay');
    const info = await qcow2Info(overlay, 'the test overlay');
    assert.equal(info['backing-filename'], 'elsewhere.raw');
    assert.equal(info.format, 'qcow2');
  });

  it('fails as data: the command, the tail of its stderr, a hint', async () => {
    const missing = join(dir, 'missing.qcow2');
    const err = await overlayInfo(missing).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof QemuError);
    assert.equal(err.code, 'qemu_failed');
    assert.match(err.message, new RegExp(`^qemu-img info ${missing} failed: .*No such file`));
    assert.equal(err.hint, "is the lab's disk still there?");
    await assert.rejects(deleteSnapshot(overlay, 'nope'), (e: Error) => {
      assert.match(e.message, new RegExp(`^qemu-img snapshot -d nope ${overlay}: `));
      return true;
    });
    const what = "x.tar: r1's overlay";
    await assert.rejects(qcow2Info(missing, what), { message: /^x\.tar: r1's overlay: qemu-img info failed: / });
  });
});
