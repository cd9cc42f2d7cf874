import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { serveDir, type FileServerOptions } from '../helpers/fileServer.js';
import type { TestServer } from '../helpers/httpServer.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';

/**
 * Imports that finish, through the real CLI: `kill -9` of `vmlab images
 * import` mid-transfer leaves nothing stuck (the next command reaps it), the
 * same command resumes with a Range request, `jobs cancel` of a dead job
 * cancels it, `images rm` leaves no part files; files that are no disk image
 * are refused with exit 2 and one clear message.
 */
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Row {
  name?: string;
  id: string;
  status: string;
  pid?: number | null;
  error?: string | null;
}

describe('imports survive faults (real CLI)', { concurrency: false }, () => {
  const work = mkdtempSync('/tmp/vmlab-fimp-');
  const www = join(work, 'www');
  const home = tempHome();
  const env = { VMLAB_HOME: home, VMLAB_DOWNLOAD_RETRY_DELAY_MS: '20', http_proxy: '', HTTP_PROXY: '' };
  const imagesDir = join(home, 'images');
  // Slow links, per path; lifted by deleting the entry (the server reads it per request).
  const slow: NonNullable<FileServerOptions['bytesPerSec']> = {};
  let server: TestServer;

  const json = async <T>(args: string[]): Promise<T> => {
    const r = await vmlab([...args, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  const partFiles = () => readdirSync(imagesDir).filter((f) => f.includes('.part'));

  /** Start an import, kill -9 it once its part file holds `atLeast` bytes; check (without reaping) that it left a stuck row. */
  async function killMidTransfer(url: string, name: string, atLeast: number): Promise<{ kept: number }> {
    const child: ChildProcess = spawn(vmlabBin, ['images', 'import', url, '--name', name], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('exit', r));
    const part = join(imagesDir, `${name}.download.part`);
    await waitFor(`${part} to hold ${atLeast} bytes`, () => existsSync(part) && statSync(part).size >= atLeast);
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    const db = new Database(join(home, 'vmlab.db'), { readonly: true });
    try {
      const job = db
        .prepare('SELECT id, status, pid FROM jobs WHERE params LIKE ? ORDER BY created_at DESC')
        .get(`%${url}%`) as Row;
      const img = db.prepare('SELECT status FROM images WHERE name = ?').get(name) as Row;
      // What a kill -9 leaves before anyone reaps it: the stuck state this is about.
      assert.equal(job.status, 'running');
      assert.equal(job.pid, child.pid);
      assert.equal(img.status, 'downloading');
    } finally {
      db.close();
    }
    return { kept: statSync(part).size };
  }

  before(async () => {
    mkdirSync(www);
    // 12 MiB of incompressible data in a qcow2.
    const raw = join(work, 'data.raw');
    writeFileSync(raw, randomBytes(12 * MiB));
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, join(www, 'a.qcow2')]);
    copyFileSync(join(www, 'a.qcow2'), join(www, 'b.qcow2'));
    server = await serveDir(www, { bytesPerSec: slow });
  });
  after(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('kill -9 mid-transfer: jobs cancel cancels the dead job, nothing stays running, the same command resumes (Range)', async () => {
    const url = `${server.url}/a.qcow2`;
    slow['/a.qcow2'] = 2 * MiB;
    const { kept } = await killMidTransfer(url, 'a', 1 * MiB);
    const db = new Database(join(home, 'vmlab.db'), { readonly: true });
    const { id } = db.prepare("SELECT id FROM jobs WHERE status = 'running'").get() as Row;
    db.close();

    const c = await vmlab(['jobs', 'cancel', id], env);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`^cancelled ${id} \\(its process \\d+ was gone\\)`));
    const jobs = await json<Row[]>(['jobs', 'list']);
    assert.equal(jobs.find((j) => j.id === id)!.status, 'cancelled');
    assert.deepEqual(
      jobs.filter((j) => j.status === 'running'),
      [],
    );
    const images = await json<Row[]>(['images', 'list']);
    assert.deepEqual(
      images.map((i) => [i.name, i.status]),
      [['a', 'failed']],
    );
    assertIncludes(images[0]!.error ?? '', 'interrupted');

    // The same command again: not "exists already"; it resumes from the part file.
    delete slow['/a.qcow2'];
    const before = server.requests.length;
    const r = await vmlab(['images', 'import', url, '--name', 'a'], env);
    assert.equal(r.code, 0, r.stderr);
    const ranges = server.requests
      .slice(before)
      .filter((q) => q.url === '/a.qcow2')
      .map((q) => q.headers.range);
    assert.ok(ranges.length >= 1, 'the server saw the re-run');
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[0] ?? '')?.[1]);
    assert.ok(from >= kept && from >= 1 * MiB, `resumed with Range (${String(ranges[0])}, ${kept} bytes were kept)`);
    const ready = await json<Array<Row & { path: string; sha256: string }>>(['images', 'list']);
    assert.deepEqual(
      ready.map((i) => [i.name, i.status]),
      [['a', 'ready']],
    );
    assert.equal(ready[0]!.sha256, sha256(join(www, 'a.qcow2')));
    assert.equal(sha256(ready[0]!.path), ready[0]!.sha256);
    assert.deepEqual(partFiles(), []);
  });

  it('kill -9 mid-transfer: the next list reaps it (failed, resumable); images rm leaves no part files', async () => {
    slow['/b.qcow2'] = 2 * MiB;
    await killMidTransfer(`${server.url}/b.qcow2`, 'b', 1 * MiB);
    assert.ok(partFiles().length > 0, 'the kill left a part file');

    const images = await json<Row[]>(['images', 'list']);
    const b = images.find((i) => i.name === 'b')!;
    assert.equal(b.status, 'failed');
    assert.match(b.error ?? '', /^interrupted while downloading: .*run the same command again to resume/);
    const jobs = await json<Row[]>(['jobs', 'list']);
    assert.deepEqual(
      jobs.filter((j) => j.status === 'running'),
      [],
    );
    assert.match(jobs[0]!.error ?? '', /^interrupted: its process \(pid \d+\) is gone/);
    const plain = await vmlab(['images', 'list'], env);
    assertIncludes(plain.stdout, 'resume: vmlab images import');

    const rm = await vmlab(['images', 'rm', 'b'], env);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(partFiles(), []);
    assert.deepEqual(readdirSync(imagesDir), ['a.qcow2']);
    assert.deepEqual(
      (await json<Row[]>(['images', 'list'])).map((i) => i.name),
      ['a'],
    );
    delete slow['/b.qcow2'];
  });

  describe('files that are not disk images are refused: exit 2, one message, no stack, nothing registered', () => {
    const files = join(work, 'files');
    before(() => {
      mkdirSync(join(files, 'a-dir'), { recursive: true });
      writeFileSync(join(files, 'x.qcow2'), 'this is not a disk\n');
      writeFileSync(join(files, 'empty.img'), '');
      writeFileSync(join(files, 'zeros.vmdk'), Buffer.alloc(64 * 1024));
      writeFileSync(join(files, 'odd.img'), randomBytes(1000));
    });
    const cases: Array<[string, string, string[]]> = [
      [
        '19 bytes of text named .qcow2',
        'x.qcow2',
        [
          'x.qcow2 is not a qcow2 image: expected a qcow2 header (the name ends in .qcow2), got 19 bytes with no image header',
          'next: check that it is the right file',
        ],
      ],
      [
        'a directory',
        'a-dir',
        [
          'a-dir is a directory, not a disk image',
          'next: give the path of one image file in it, or register every image in it: vmlab images scan',
        ],
      ],
      [
        'an empty file',
        'empty.img',
        ['empty.img is empty (0 bytes): expected a disk image', 'next: check that it is the right file'],
      ],
      [
        'an extension the bytes deny',
        'zeros.vmdk',
        [
          'zeros.vmdk is not a VMDK image: expected a VMDK header (the name ends in .vmdk), got 65536 bytes with no image header',
        ],
      ],
      [
        'raw that is not whole 512-byte sectors',
        'odd.img',
        [
          'odd.img is not a disk image: expected a qcow2, VMDK, VHD, VHDX or ISO header, or raw data in whole 512-byte sectors; got 1000 bytes',
        ],
      ],
    ];
    for (const [what, file, parts] of cases) {
      it(what, async () => {
        const r = await vmlab(['images', 'import', join(files, file)], env);
        assert.equal(r.code, 2, r.stderr);
        for (const p of parts) assertIncludes(r.stderr, p);
        assert.doesNotMatch(r.stderr, /download probably failed/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.deepEqual(
          (await json<Row[]>(['images', 'list'])).map((i) => i.name),
          ['a'],
          'nothing registered',
        );
        assert.deepEqual(readdirSync(imagesDir), ['a.qcow2']);
      });
    }
  });
});
