import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { convertToQcow2, parseProgress } from '../../../src/images/convert.js';
import { ImageError } from '../../../src/images/imageError.js';

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { stdio: ['ignore', 'pipe', 'pipe'] });
/** `qemu-img compare` exit code: 0 = same guest-visible content. */
const compare = (a: string, fa: string, b: string, fb: string) =>
  spawnSync('qemu-img', ['compare', '-f', fa, '-F', fb, a, b]).status;

const isImageError = (code: string) => (e: unknown) => e instanceof ImageError && e.code === code;

describe('images/convert', () => {
  let dir: string;
  const at = (name: string) => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmlab-convert-'));
    // 32 MiB raw disk with a few MiB of random data in three places.
    qemuImg('create', '-q', '-f', 'raw', at('disk.raw'), '32M');
    const fd = openSync(at('disk.raw'), 'r+');
    for (const [offset, size] of [
      [0, 1 << 20],
      [5 << 20, 2 << 20],
      [31 << 20, 1 << 20],
    ] as const)
      writeSync(fd, randomBytes(size), 0, size, offset);
    closeSync(fd);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses qemu-img -p progress', () => {
    assert.deepEqual(parseProgress('    (0.00/100%)\r    (50.50/100%)\r    (100.00/100%)\r\n'), [0, 50.5, 100]);
    assert.deepEqual(parseProgress('nothing here'), []);
  });

  it('converts raw -> vmdk -> qcow2 with the same content', async () => {
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', at('disk.raw'), at('disk.vmdk'));
    const seen: number[] = [];
    const info = await convertToQcow2(at('disk.vmdk'), 'vmdk', at('from-vmdk.qcow2'), {
      onProgress: (p) => seen.push(p),
    });
    assert.equal(info.format, 'qcow2');
    assert.equal(info.virtualSize, 32 << 20);
    assert.equal(compare(at('disk.raw'), 'raw', at('from-vmdk.qcow2'), 'qcow2'), 0);
    assert.ok(seen.length > 0, 'progress was reported');
    assert.equal(seen.at(-1), 100);
    assert.ok(
      seen.every((p, i) => i === 0 || p >= seen[i - 1]!),
      `progress only goes up: ${seen.join(',')}`,
    );
    assert.ok(!existsSync(at('from-vmdk.qcow2.part')));
  });

  for (const [fmt, opts] of [
    ['vpc', []],
    ['vhdx', []],
    ['raw', []],
    ['vpc', ['-o', 'subformat=fixed']],
  ] as const) {
    it(`converts ${fmt}${opts.length ? ' ' + opts[1] : ''} to qcow2`, async () => {
      const src = fmt === 'raw' ? at('disk.raw') : at(`disk-${fmt}-${opts.length}.${fmt}`);
      if (fmt !== 'raw') qemuImg('convert', '-f', 'raw', '-O', fmt, ...opts, at('disk.raw'), src);
      const dest = at(`from-${fmt}-${opts.length}.qcow2`);
      const info = await convertToQcow2(src, fmt, dest);
      assert.equal(info.format, 'qcow2');
      assert.equal(compare(src, fmt, dest, 'qcow2'), 0);
    });
  }

  it('refuses a source whose bytes say another format', async () => {
    await assert.rejects(convertToQcow2(at('disk.raw'), 'vmdk', at('wrong.qcow2')), isImageError('unsafe'));
    assert.ok(!existsSync(at('wrong.qcow2')));
  });

  it('refuses formats it does not convert', async () => {
    await assert.rejects(convertToQcow2(at('disk.raw'), 'iso', at('iso.qcow2')), isImageError('unsupported_format'));
  });

  it('refuses a source with a backing file before converting', async () => {
    qemuImg('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', at('escape.qcow2'));
    await assert.rejects(convertToQcow2(at('escape.qcow2'), 'qcow2', at('escaped.qcow2')), isImageError('unsafe'));
    assert.ok(!existsSync(at('escaped.qcow2')));
  });

  it('kills qemu-img and removes the part file when aborted', async () => {
    const ac = new AbortController();
    const dest = at('aborted.qcow2');
    await assert.rejects(
      convertToQcow2(at('disk.raw'), 'raw', dest, { signal: ac.signal, onProgress: () => ac.abort() }),
      isImageError('cancelled'),
    );
    assert.ok(!existsSync(dest));
    assert.ok(!existsSync(`${dest}.part`));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.part')),
      [],
    );
  });

  it('does nothing when already aborted', async () => {
    await assert.rejects(
      convertToQcow2(at('disk.raw'), 'raw', at('never.qcow2'), { signal: AbortSignal.abort() }),
      isImageError('cancelled'),
    );
    assert.ok(!existsSync(at('never.qcow2')));
  });
});
