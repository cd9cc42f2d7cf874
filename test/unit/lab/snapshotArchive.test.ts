import assert from 'node:assert/strict';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openArchive, partFile } from '../../../src/lab/snapshot/archiveOpen.js';
import {
  ARCHIVE_FORMAT,
  membersProblem,
  partNameProblem,
  partsProblem,
} from '../../../src/lab/snapshot/archiveParts.js';
import type { ImageFactsResolver } from '../../../src/lab/node/hostProbe.js';
import { LabError } from '../../../src/lab/labError.js';
import { headerNumber, tarMembers, type TarMember } from '../../../src/lab/snapshot/tarMembers.js';
import { run } from '../../../src/host/subprocess.js';
import { partOf, repack } from '../../helpers/craftArchive.js';

const work = mkdtempSync(join(tmpdir(), 'vmlab-archive-'));
after(() => rmSync(work, { recursive: true, force: true }));

const file = (path: string, size: number): TarMember => ({ name: path, kind: 'file', size, offset: 512 });
const part = (path: string, bytes: number) => ({ path, sha256: 'a'.repeat(64), bytes });

describe('archive part names', () => {
  it('takes the names an export writes', () => {
    const names = ['disks/r1.qcow2', 'seeds/r1.iso', 'keys/lab.key.pub', `base/${'0'.repeat(64)}.qcow2`];
    for (const p of names) assert.equal(partNameProblem(p), undefined, p);
  });
  it('refuses absolute, "..", hidden, nested, other-directory and non-string names', () => {
    const names = [
      '/etc/passwd',
      '../x',
      'keys/../../x',
      'keys/..',
      'keys/.hidden',
      'keys/a/b',
      'other/x',
      'keys/',
      'keys',
    ];
    for (const p of [...names, 'keys/a\nb', '', 7, null]) {
      assert.ok(partNameProblem(p), `${JSON.stringify(p)} taken`);
    }
    assert.match(
      partNameProblem('../../home/u/.ssh/id_ed25519')!,
      /not allowed: expected disks\|seeds\|keys\|base\/<file>/,
    );
  });
  it('refuses a parts list with a bad digest, size or a name twice', () => {
    assert.match(partsProblem([{ path: 'keys/a', sha256: 'x', bytes: 1 }])!, /keys\/a has sha256 "x"/);
    assert.match(partsProblem([{ path: 'keys/a', sha256: 'a'.repeat(64), bytes: -1 }])!, /keys\/a has bytes -1/);
    assert.match(partsProblem([part('keys/a', 1), part('keys/a', 1)])!, /keys\/a is listed twice/);
    assert.equal(partsProblem([part('keys/a', 1)]), undefined);
  });
});

describe('archive members against the manifest (headers only)', () => {
  const parts = [part('disks/r1.qcow2', 4096), part('keys/lab.key', 400)];
  const dir: TarMember = { name: 'disks/', kind: 'dir', size: 0, offset: 0 };
  const good = [file('manifest.json', 900), dir, file('disks/r1.qcow2', 4096), file('./keys/lab.key', 400)];
  it('takes the manifest, listed parts and their directories', () =>
    assert.equal(membersProblem(good, parts, 10_240), undefined));
  it('refuses links, devices, sparse, unlisted, doubled, resized and missing members, and sizes past the archive', () => {
    const cases: Array<[TarMember[], RegExp]> = [
      [
        [...good, { name: 'keys/lab.key.pub', kind: 'symlink', size: 0, offset: 0, target: '/etc/passwd' }],
        /member "keys\/lab.key.pub" is a symbolic link \(to "\/etc\/passwd"\)/,
      ],
      [
        [...good, { name: 'keys/x', kind: 'hardlink', size: 0, offset: 0, target: 'etc/shadow' }],
        /member "keys\/x" is a hard link/,
      ],
      [[...good, { name: 'keys/tty', kind: 'device', size: 0, offset: 0 }], /member "keys\/tty" is a device/],
      [
        [good[0]!, { ...good[2]!, kind: 'sparse', size: 2 ** 34 }, good[3]!],
        /member "disks\/r1.qcow2" is stored sparse \(17179869184 bytes unpacked\)/,
      ],
      [[...good, file('keys/extra', 1)], /member "keys\/extra" is not a part the manifest lists/],
      [[...good, file('keys/lab.key', 400)], /member "keys\/lab.key" is in the archive twice/],
      [
        [good[0]!, file('disks/r1.qcow2', 2 ** 34), good[3]!],
        /member "disks\/r1.qcow2" is 17179869184 bytes, the manifest lists 4096/,
      ],
      [[good[0]!, good[2]!], /part keys\/lab.key is listed in the manifest but not in the archive/],
      [
        [...good, { name: 'etc/', kind: 'dir', size: 0, offset: 0 }],
        /member "etc\/" is a directory no listed part is in/,
      ],
      [[file('manifest.json', 2 << 20), good[2]!, good[3]!], /member "manifest.json" is 2097152 bytes/],
    ];
    for (const [members, re] of cases) assert.match(membersProblem(members, parts, 10_240) ?? 'taken', re);
    assert.match(
      membersProblem(good, parts, 4000)!,
      /the parts add up to 4496 bytes, more than the archive's own 4000/,
    );
  });
});

describe('tar headers', () => {
  it('reads sizes in octal and in GNU base-256', () => {
    const b = Buffer.alloc(12);
    b.write('00000001750\0', 'latin1');
    assert.equal(headerNumber(b, 0, 12), 1000);
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(2 ** 40, 6, 6);
    assert.equal(headerNumber(big, 0, 12), 2 ** 40);
  });
  it('lists what GNU tar stores: long names, pax names, links, sparse files with their real size', async () => {
    const d = join(work, 'kinds');
    mkdirSync(join(d, 'keys'), { recursive: true });
    const long = `keys/${'n'.repeat(150)}`;
    writeFileSync(join(d, long), 'x'.repeat(1000));
    symlinkSync('/etc/passwd', join(d, 'keys/sym'));
    linkSync(join(d, long), join(d, 'keys/hard'));
    writeFileSync(join(d, 'keys/sparse'), '');
    truncateSync(join(d, 'keys/sparse'), 2 ** 30);
    for (const format of ['gnu', 'posix']) {
      const out = join(work, `kinds-${format}.tar`);
      writeFileSync(join(d, 'manifest.json'), '{}\n');
      const members = ['manifest.json', long, 'keys/sym', 'keys/hard', 'keys/sparse'];
      const r = await run(['tar', `--format=${format}`, '--sparse', '-cf', out, '-C', d, ...members]);
      assert.equal(r.exitCode, 0, r.stderr);
      const got = (await tarMembers(out)).map((m) => [m.name, m.kind, m.size, m.target ?? '']);
      assert.deepEqual(
        got,
        [
          ['manifest.json', 'file', 3, ''],
          [long, 'file', 1000, ''],
          ['keys/sym', 'symlink', 0, '/etc/passwd'],
          ['keys/hard', 'hardlink', 0, long],
          ['keys/sparse', 'sparse', 2 ** 30, ''],
        ],
        format,
      );
    }
  });
  it('refuses what is not a tar', async () => {
    const junk = join(work, 'junk.tar');
    writeFileSync(junk, Buffer.alloc(2048, 7));
    await assert.rejects(tarMembers(junk), /bad checksum/);
  });
});

describe('openArchive on crafted archives', () => {
  const noImages: ImageFactsResolver = async (keys) => {
    assert.deepEqual(keys, [], 'no base to inspect');
    return {};
  };
  const src = join(work, 'src');
  mkdirSync(join(src, 'keys'), { recursive: true });
  writeFileSync(join(src, 'keys/lab.key'), 'PRIVATE KEY\n');
  writeFileSync(join(src, 'keys/lab.key.pub'), 'ssh-ed25519 AAAA lab\n');
  writeFileSync(join(work, 'host-secret'), 'host secret\n');
  const manifest = (over: Record<string, unknown> = {}) => ({
    format: ARCHIVE_FORMAT,
    lab: 'x',
    exported: '2026-01-01T00:00:00Z',
    snapshot: { name: 'base', kind: 'full' },
    lab_key: 'keys/lab.key',
    nodes: {},
    parts: [partOf(src, 'keys/lab.key'), partOf(src, 'keys/lab.key.pub')],
    ...over,
  });
  let n = 0;
  /** Open a crafted archive: the LabError it is refused with, and what was left in the unpack dir. */
  const refused = async (tar: string): Promise<{ err: LabError; left: string[] }> => {
    const dir = join(work, `unpack-${++n}`);
    const err = await openArchive(tar, dir, noImages).then(
      () => assert.fail(`${tar} was taken`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LabError, String(err));
    return { err, left: readdirSync(dir, { recursive: true }).map(String) };
  };

  it('takes an honest archive; its parts are plain files inside the unpack dir', async () => {
    const tar = await repack(src, join(work, 'honest.tar'), manifest(), ['keys/lab.key', 'keys/lab.key.pub']);
    const dir = join(work, 'unpack-honest');
    const a = await openArchive(tar, dir, noImages);
    assert.equal(partFile(a, 'keys/lab.key'), join(dir, 'keys/lab.key'));
    assert.throws(() => partFile(a, 'keys/other'), /keys\/other is not among the checked parts/);
    assert.throws(() => partFile(a, '../host-secret'), /part name "..\/host-secret" is not allowed/);
  });

  it('refuses a lab_key outside the archive, before unpacking anything', async () => {
    const m = manifest({ lab_key: `../../../../../../../..${join(work, 'host-secret')}` });
    const tar = await repack(src, join(work, 'outside.tar'), m, ['keys/lab.key', 'keys/lab.key.pub']);
    const { err, left } = await refused(tar);
    assert.equal(err.code, 'snapshot_archive_unsafe');
    assert.equal(err.kind, 'input');
    assert.match(
      err.message,
      /not a safe vmlab snapshot: lab_key "[./]+\/.*host-secret" is not among the listed, checked parts/,
    );
    assert.deepEqual(left, []);
  });

  it('refuses a listed lab_key.pub that is a symlink to a host file', async () => {
    const d = join(work, 'sym');
    mkdirSync(join(d, 'keys'), { recursive: true });
    writeFileSync(join(d, 'keys/k'), 'PRIVATE KEY\n');
    symlinkSync(join(work, 'host-secret'), join(d, 'keys/k.pub'));
    const m = manifest({
      lab_key: 'keys/k',
      parts: [partOf(d, 'keys/k'), { ...partOf(work, 'host-secret'), path: 'keys/k.pub' }],
    });
    const { err, left } = await refused(await repack(d, join(work, 'sym.tar'), m, ['keys/k', 'keys/k.pub']));
    assert.equal(err.code, 'snapshot_archive_unsafe');
    assert.match(err.message, /member "keys\/k.pub" is a symbolic link \(to ".*host-secret"\)/);
    assert.deepEqual(left, []);
  });

  it('refuses a 16 GiB sparse part at once, without hashing or unpacking it', async () => {
    const d = join(work, 'sparse');
    mkdirSync(join(d, 'base'), { recursive: true });
    writeFileSync(join(d, 'base/big.raw'), '');
    truncateSync(join(d, 'base/big.raw'), 16 * 2 ** 30);
    for (const lie of [16 * 2 ** 30, 512]) {
      const m = manifest({
        parts: [...manifest().parts, { path: 'base/big.raw', sha256: 'b'.repeat(64), bytes: lie }],
      });
      const tar = await repack(
        src,
        join(work, 'sparse.tar'),
        m,
        ['keys/lab.key', 'keys/lab.key.pub', '-C', d, 'base/big.raw'],
        { sparse: true },
      );
      const t = Date.now();
      const { err, left } = await refused(tar);
      assert.ok(Date.now() - t < 2000, `refused after ${Date.now() - t} ms`);
      assert.equal(err.code, 'snapshot_archive_unsafe');
      assert.match(err.message, /member "base\/big.raw" is stored sparse \(17179869184 bytes unpacked\)/);
      assert.deepEqual(left, []);
    }
  });

  it('refuses a part larger than listed and a member the manifest does not list', async () => {
    const big = manifest({ parts: [partOf(src, 'keys/lab.key'), { ...partOf(src, 'keys/lab.key.pub'), bytes: 4 }] });
    const a = await refused(await repack(src, join(work, 'big.tar'), big, ['keys/lab.key', 'keys/lab.key.pub']));
    assert.match(a.err.message, /member "keys\/lab.key.pub" is 21 bytes, the manifest lists 4/);
    writeFileSync(join(src, 'keys/extra'), 'x');
    const b = await refused(
      await repack(src, join(work, 'extra.tar'), manifest(), ['keys/lab.key', 'keys/lab.key.pub', 'keys/extra']),
    );
    assert.match(b.err.message, /member "keys\/extra" is not a part the manifest lists/);
    assert.deepEqual([a.left, b.left], [[], []]);
  });

  it("refuses a node whose files are not listed parts, or that shares another node's overlay", async () => {
    const node = (over: Record<string, unknown> = {}) => ({
      overlay: 'keys/lab.key',
      host_key: 'keys/lab.key',
      base: { name: 'b', format: 'qcow2', sha256: 'd'.repeat(64), bytes: 1 },
      ...over,
    });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { r1: node({ host_key: '/etc/ssh/ssh_host_ed25519_key' }) },
        /r1's host_key "\/etc\/ssh\/ssh_host_ed25519_key" is not among the listed/,
      ],
      [{ r1: node({ seed: 'seeds/r1.iso' }) }, /r1's seed "seeds\/r1.iso" is not among the listed/],
      [{ r1: node(), r2: node() }, /r2's overlay "keys\/lab.key" is another node's too/],
      [{ '../r1': node() }, /a node is named "..\/r1"/],
      [{ r1: node({ base: { format: 'qcow2 -o x', sha256: 'd'.repeat(64) } }) }, /r1's base has no usable format/],
    ];
    for (const [nodes, re] of cases) {
      const tar = await repack(src, join(work, 'nodes.tar'), manifest({ nodes }), ['keys/lab.key', 'keys/lab.key.pub']);
      const { err, left } = await refused(tar);
      assert.equal(err.code, 'snapshot_archive_unsafe');
      assert.match(err.message, re);
      assert.deepEqual(left, []);
    }
  });

  it('a part whose bytes do not match its digest is damaged, not unsafe', async () => {
    const m = manifest({
      parts: [partOf(src, 'keys/lab.key'), { ...partOf(src, 'keys/lab.key.pub'), sha256: 'c'.repeat(64) }],
    });
    const { err } = await refused(await repack(src, join(work, 'digest.tar'), m, ['keys/lab.key', 'keys/lab.key.pub']));
    assert.equal(err.code, 'snapshot_archive_invalid');
    assert.match(err.message, /keys\/lab.key.pub has sha256 [0-9a-f]{64}, the manifest says c{64}/);
  });
});
