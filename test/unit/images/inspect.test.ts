import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  symlinkSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
  fstatSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertSafeImageName, detectFormatByMagic, inspectImage } from '../../../src/images/inspect.js';
import { resetPrlimitCache } from '../../../src/qemu/untrustedImg.js';
import { ImageError } from '../../../src/images/imageError.js';
import { assertIncludes } from '../../helpers/assertions.js';

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** `fn` rejects with an ImageError of `code` whose message contains `part`. */
async function rejectsWith(fn: () => Promise<unknown>, code: string, part = ''): Promise<ImageError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ImageError, `expected an ImageError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (part) assertIncludes(caught.message, part);
  return caught;
}

/** Patch a 16-bit refcount of a fresh qcow2: `cluster` gets `value`. */
function setRefcount(path: string, cluster: number, value: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 48); // refcount_table_offset
    readSync(fd, b, 0, 8, Number(b.readBigUInt64BE()));
    const block = Number(b.readBigUInt64BE());
    const two = Buffer.alloc(2);
    two.writeUInt16BE(value);
    writeSync(fd, two, 0, 2, block + 2 * cluster);
  } finally {
    closeSync(fd);
  }
}

describe('images/inspect', () => {
  let dir: string;
  const at = (name: string) => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmlab-inspect-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('detectFormatByMagic', () => {
    it('detects every format from its bytes', async () => {
      qemuImg('create', '-q', '-f', 'qcow2', at('a.qcow2'), '1M');
      qemuImg('create', '-q', '-f', 'vmdk', at('a.vmdk'), '1M');
      qemuImg('create', '-q', '-f', 'vpc', at('dyn.vhd'), '1M');
      qemuImg('create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', at('fixed.vhd'), '1M');
      qemuImg('create', '-q', '-f', 'vhdx', at('a.vhdx'), '1M');
      qemuImg('create', '-q', '-f', 'raw', at('a.raw'), '1M');
      qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', at('flat.vmdk'), '1M');
      const iso = Buffer.alloc(0x9000);
      iso.write('\x01CD001', 0x8000, 'latin1');
      writeFileSync(at('a.iso'), iso);
      assert.equal(await detectFormatByMagic(at('a.qcow2')), 'qcow2');
      assert.equal(await detectFormatByMagic(at('a.vmdk')), 'vmdk');
      assert.equal(await detectFormatByMagic(at('flat.vmdk')), 'vmdk');
      assert.equal(await detectFormatByMagic(at('dyn.vhd')), 'vpc');
      assert.equal(await detectFormatByMagic(at('fixed.vhd')), 'vpc');
      assert.equal(await detectFormatByMagic(at('a.vhdx')), 'vhdx');
      assert.equal(await detectFormatByMagic(at('a.raw')), 'raw');
      assert.equal(await detectFormatByMagic(at('a.iso')), 'iso');
    });

    it('believes the bytes, not the extension', async () => {
      qemuImg('create', '-q', '-f', 'qcow2', at('real.qcow2'), '1M');
      copyFileSync(at('real.qcow2'), at('renamed.vmdk'));
      assert.equal(await detectFormatByMagic(at('renamed.vmdk')), 'qcow2');
    });

    it('rejects HTML pages and empty files', async () => {
      writeFileSync(at('page.qcow2'), '\n  <!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n');
      writeFileSync(at('page2.img'), '<HTML><head></head></HTML>');
      writeFileSync(at('empty.qcow2'), '');
      const e = await rejectsWith(() => detectFormatByMagic(at('page.qcow2')), 'not_an_image', 'page.qcow2');
      assert.ok(e.hint);
      await rejectsWith(() => detectFormatByMagic(at('page2.img')), 'not_an_image', 'HTML');
      const empty = await rejectsWith(
        () => detectFormatByMagic(at('empty.qcow2')),
        'not_an_image',
        'empty.qcow2 is empty (0 bytes): expected a disk image',
      );
      assert.doesNotMatch(empty.hint ?? '', /download/, 'a local empty file is not a failed download');
      assert.equal(empty.exitCode, 2);
      await rejectsWith(() => detectFormatByMagic(at('missing.qcow2')), 'not_found', 'missing.qcow2');
      const d = await rejectsWith(
        () => detectFormatByMagic(dir),
        'not_an_image',
        `${dir} is a directory, not a disk image`,
      );
      assertIncludes(d.hint ?? '', `vmlab images scan ${dir}`);
      assert.equal(d.exitCode, 2);
    });

    it('refuses data with no image header unless it can be a raw disk', async () => {
      // 19 bytes of text named .qcow2: neither a qcow2 nor a raw disk.
      writeFileSync(at('x.qcow2'), 'this is not a disk\n');
      const e = await rejectsWith(
        () => detectFormatByMagic(at('x.qcow2')),
        'not_an_image',
        'x.qcow2 is not a qcow2 image: expected a qcow2 header (the name ends in .qcow2), got 19 bytes with no image header, starting with the text "this is not a disk\\n"',
      );
      assert.equal(e.exitCode, 2);
      assertIncludes(e.hint ?? '', '.img or .raw');
      // The same 19 bytes under a name that claims nothing: not whole 512-byte sectors.
      writeFileSync(at('x.img'), 'this is not a disk\n');
      await rejectsWith(
        () => detectFormatByMagic(at('x.img')),
        'not_an_image',
        'x.img is not a disk image: expected a qcow2, VMDK, VHD, VHDX or ISO header, or raw data in whole 512-byte sectors; got 19 bytes',
      );
      // Whole sectors of data with no header, named as a format they are not.
      writeFileSync(at('zeros.vmdk'), Buffer.alloc(4096));
      writeFileSync(at('zeros.vhd'), Buffer.alloc(4096));
      writeFileSync(at('zeros.vhdx'), Buffer.alloc(4096));
      await rejectsWith(
        () => detectFormatByMagic(at('zeros.vmdk')),
        'not_an_image',
        'expected a VMDK header (the name ends in .vmdk), got 4096 bytes with no image header',
      );
      await rejectsWith(() => detectFormatByMagic(at('zeros.vhd')), 'not_an_image', 'expected a VHD header');
      await rejectsWith(() => detectFormatByMagic(at('zeros.vhdx')), 'not_an_image', 'expected a VHDX header');
      // ...and named as nothing in particular they are a raw disk.
      writeFileSync(at('zeros.img'), Buffer.alloc(4096));
      writeFileSync(at('zeros.raw'), Buffer.alloc(512));
      assert.equal(await detectFormatByMagic(at('zeros.img')), 'raw');
      assert.equal(await detectFormatByMagic(at('zeros.raw')), 'raw');
      // A download is judged by its URL's name and named by its URL.
      copyFileSync(at('x.qcow2'), at('x.download'));
      const url = 'https://example.test/images/x.qcow2';
      const u = await rejectsWith(
        () => detectFormatByMagic(at('x.download'), { name: 'x.qcow2', label: url }),
        'not_an_image',
        `${url} is not a qcow2 image`,
      );
      assertIncludes(u.hint ?? '', 'check the URL');
      await rejectsWith(() => inspectImage(at('x.qcow2')), 'not_an_image', 'expected a qcow2 header');
    });
  });

  describe('inspectImage', () => {
    it('passes a clean qcow2 and reports its facts', async () => {
      qemuImg('create', '-q', '-f', 'qcow2', at('clean.qcow2'), '64M');
      const info = await inspectImage(at('clean.qcow2'));
      assert.equal(info.format, 'qcow2');
      assert.equal(info.virtualSize, 64 * 1024 * 1024);
      assert.ok(info.actualSize > 0);
      assert.equal(info.clusterSize, 65536);
      assert.equal(info.dirty, false);
      assert.deepEqual(info.warnings, []);
    });

    it('inspects a qcow2 named .vmdk as qcow2', async () => {
      qemuImg('create', '-q', '-f', 'qcow2', at('q.qcow2'), '1M');
      copyFileSync(at('q.qcow2'), at('q-renamed.vmdk'));
      assert.equal((await inspectImage(at('q-renamed.vmdk'))).format, 'qcow2');
    });

    it('passes raw, sparse vmdk, vhd (dynamic and fixed) and vhdx', async () => {
      qemuImg('create', '-q', '-f', 'raw', at('i.raw'), '1M');
      qemuImg('create', '-q', '-f', 'vmdk', at('i.vmdk'), '1M');
      qemuImg('create', '-q', '-f', 'vpc', at('i.vhd'), '1M');
      qemuImg('create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', at('if.vhd'), '1M');
      qemuImg('create', '-q', '-f', 'vhdx', at('i.vhdx'), '1M');
      assert.equal((await inspectImage(at('i.raw'))).format, 'raw');
      assert.equal((await inspectImage(at('i.vmdk'))).format, 'vmdk');
      assert.equal((await inspectImage(at('i.vhd'))).format, 'vpc');
      assert.equal((await inspectImage(at('if.vhd'))).format, 'vpc');
      assert.equal((await inspectImage(at('i.vhdx'))).format, 'vhdx');
    });

    it('rejects a backing file escape (-b /etc/passwd)', async () => {
      qemuImg('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', at('escape.qcow2'));
      const e = await rejectsWith(() => inspectImage(at('escape.qcow2')), 'unsafe', '/etc/passwd');
      assertIncludes(e.message, 'backing file');
      assertIncludes(e.hint ?? '', 'qemu-img convert -O qcow2');
      assert.equal(e.exitCode, 2);
    });

    it('rejects an external data file', async () => {
      qemuImg(
        'create',
        '-q',
        '-f',
        'qcow2',
        '-o',
        `data_file=${at('data.raw')},data_file_raw=on`,
        at('datafile.qcow2'),
        '1M',
      );
      const e = await rejectsWith(() => inspectImage(at('datafile.qcow2')), 'unsafe', 'external data file');
      assertIncludes(e.message, 'data.raw');
    });

    it('rejects VMDK descriptors whose extents are other files', async () => {
      qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', at('desc.vmdk'), '1M');
      await rejectsWith(() => inspectImage(at('desc.vmdk')), 'unsafe', 'desc-flat.vmdk');
      writeFileSync(
        at('evil.vmdk'),
        '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "/etc/shadow" 0\n',
      );
      await rejectsWith(() => inspectImage(at('evil.vmdk')), 'unsafe', '/etc/shadow');
    });

    it('rejects an HTML page named .qcow2', async () => {
      writeFileSync(at('login.qcow2'), '<!doctype html><title>Sign in</title>');
      await rejectsWith(() => inspectImage(at('login.qcow2')), 'not_an_image');
    });

    it('fails on a corrupt qcow2, warns on leaked clusters', async () => {
      qemuImg('create', '-q', '-f', 'qcow2', at('corrupt.qcow2'), '1M');
      setRefcount(at('corrupt.qcow2'), 0, 0); // the header cluster is in use but counted free
      await rejectsWith(() => inspectImage(at('corrupt.qcow2')), 'qemu_img', 'corrupt');

      qemuImg('create', '-q', '-f', 'qcow2', at('leaky.qcow2'), '1M');
      const fd = openSync(at('leaky.qcow2'), 'r+');
      const next = Math.ceil(fstatSync(fd).size / 65536);
      writeSync(fd, Buffer.alloc(65536), 0, 65536, next * 65536); // an unreferenced cluster...
      closeSync(fd);
      setRefcount(at('leaky.qcow2'), next, 1); // ...counted as used
      const info = await inspectImage(at('leaky.qcow2'));
      assert.equal(info.warnings.length, 1);
      assertIncludes(info.warnings[0]!, 'leaked');
    });
  });

  it('still inspects (under a timeout) when prlimit is not installed', async () => {
    const bin = at('bin');
    mkdirSync(bin);
    const qemuImgPath = execFileSync('sh', ['-c', 'command -v qemu-img']).toString().trim();
    symlinkSync(qemuImgPath, join(bin, 'qemu-img'));
    qemuImg('create', '-q', '-f', 'qcow2', at('noprlimit.qcow2'), '1M');
    const saved = process.env.PATH;
    process.env.PATH = bin;
    resetPrlimitCache(null);
    try {
      assert.equal((await inspectImage(at('noprlimit.qcow2'))).format, 'qcow2');
    } finally {
      process.env.PATH = saved;
      resetPrlimitCache();
    }
  });

  describe('assertSafeImageName', () => {
    it('accepts plain names', () => {
      for (const n of ['debian-12.qcow2', 'ubuntu-24.04-server-cloudimg-amd64.img', 'a_b.c']) assertSafeImageName(n);
    });
    it('rejects empty, separators, NUL, leading dot and ..', () => {
      for (const n of [
        '',
        '../etc/passwd',
        'a/b',
        'a\\b',
        '..',
        'x..y',
        '.hidden',
        'a\0b',
        '/etc/passwd',
        'ok/../..',
      ]) {
        assert.throws(
          () => assertSafeImageName(n),
          (e: unknown) => e instanceof ImageError && e.code === 'bad_input' && e.exitCode === 2 && !!e.hint,
          JSON.stringify(n),
        );
      }
    });
  });
});
