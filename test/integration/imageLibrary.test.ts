import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLibrary } from '../../src/images/openLibrary.js';
import { serveDir } from '../helpers/fileServer.js';
import type { TestServer } from '../helpers/httpServer.js';
import { vmlab } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';

/**
 * The image library against a real HTTP server on 127.0.0.1 and real
 * qemu-img images: catalog → pull → verify, imports, and every way an
 * untrusted download or file is refused.
 */
describe('image library', () => {
  const work = mkdtempSync('/tmp/vmlab-lib-');
  const served = join(work, 'www');
  let server: TestServer;
  let sha = '';
  const home = (name: string) => {
    const root = join(work, name);
    mkdirSync(root, { recursive: true });
    return root;
  };
  const catalog = (root: string, entries: unknown[]) => {
    mkdirSync(join(root, 'catalog.d'), { recursive: true });
    writeFileSync(join(root, 'catalog.d', 'local.json'), JSON.stringify(entries));
  };
  const entry = (id: string, file: string, sums = 'SHA256SUMS') => ({
    id,
    name: `test ${id}`,
    distro: 'debian',
    version: '12',
    arch: 'x86_64',
    url: `${server.url}/${file}`,
    checksum: { url: `${server.url}/${sums}`, style: 'gnu' },
    format: 'qcow2',
    defaultUser: 'debian',
    cloudInit: true,
  });

  before(async () => {
    mkdirSync(served, { recursive: true });
    // A 48 MiB qcow2 with data in it, so a transfer takes more than one chunk.
    const raw = join(work, 'data.raw');
    execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', 'count=48', 'status=none']);
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, join(served, 'debian-12-genericcloud-amd64.qcow2')]);
    sha = createHash('sha256').update(readFileSync(join(served, 'debian-12-genericcloud-amd64.qcow2'))).digest('hex');
    writeFileSync(join(served, 'SHA256SUMS'), `${sha} *debian-12-genericcloud-amd64.qcow2\n${'0'.repeat(64)}  wrong.qcow2\n`);
    execFileSync('cp', [join(served, 'debian-12-genericcloud-amd64.qcow2'), join(served, 'wrong.qcow2')]);
    execFileSync('cp', [join(served, 'debian-12-genericcloud-amd64.qcow2'), join(served, 'flaky.qcow2')]);
    writeFileSync(join(served, 'FLAKYSUMS'), `${sha}  flaky.qcow2\n`);
    server = await serveDir(served, {
      dropFirstAfter: { '/flaky.qcow2': 5 * 1024 * 1024 },
      override: { '/html.qcow2': { status: 200, body: '<!DOCTYPE html><html><body>Sign in</body></html>', type: 'text/html' } },
    });
  });
  after(() => server.close());

  it('pulls a catalog image, verified against SHA256SUMS, with progress', async () => {
    const root = home('pull');
    catalog(root, [entry('debian-12', 'debian-12-genericcloud-amd64.qcow2')]);
    const lib = openLibrary(root, {});
    const seen: number[] = [];
    const img = await lib.pull('debian-12', { progress: (f) => seen.push(f) });
    assert.equal(img.status, 'ready');
    assert.equal(img.sha256, sha);
    assert.equal(img.default_user, 'debian');
    assert.equal(img.cloud_init, 1);
    assert.ok(seen.length > 0 && seen.at(-1)! > 0.99, `progress ${seen.join(',')}`);
    assert.deepEqual((await lib.verify('debian-12')).ok, true);
    assert.deepEqual(readdirSync(join(root, 'images')), ['debian-12.qcow2']);
  });

  it('resumes after a dropped connection (the server sees a Range request)', async () => {
    const root = home('resume');
    catalog(root, [{ ...entry('flaky', 'flaky.qcow2', 'FLAKYSUMS') }]);
    const lib = openLibrary(root, {});
    await assert.rejects(lib.pull('flaky'), (e: Error & { code?: string }) => e.code === 'network');
    const img = await lib.pull('flaky');
    assert.equal(img.sha256, sha);
    assert.ok(server.requests.some((r) => r.url === '/flaky.qcow2' && r.headers.range?.startsWith('bytes=')), 'no Range request seen');
  });

  it('rejects a checksum mismatch and registers nothing', async () => {
    const root = home('mismatch');
    catalog(root, [entry('wrong', 'wrong.qcow2')]);
    const lib = openLibrary(root, {});
    await assert.rejects(lib.pull('wrong'), (e: Error & { code?: string }) => e.code === 'checksum-mismatch');
    assert.deepEqual(lib.images.list(), []);
    assert.deepEqual(readdirSync(join(root, 'images')).filter((f) => !f.endsWith('.json')), []);
  });

  it('rejects 404 and HTML pages and registers nothing', async () => {
    const root = home('bad');
    const lib = openLibrary(root, {});
    await assert.rejects(lib.import(`${server.url}/missing.qcow2`), (e: Error & { code?: string }) => e.code === 'not-found');
    await assert.rejects(lib.import(`${server.url}/html.qcow2`), (e: Error & { code?: string }) => e.code === 'not-an-image');
    assert.deepEqual(lib.images.list(), []);
  });

  it('shares one transfer between concurrent pulls of one image', async () => {
    const root = home('concurrent');
    catalog(root, [entry('debian-12', 'debian-12-genericcloud-amd64.qcow2')]);
    const lib = openLibrary(root, {});
    const before = server.requests.filter((r) => r.url === '/debian-12-genericcloud-amd64.qcow2').length;
    const [a, b] = await Promise.all([lib.pull('debian-12'), lib.pull('debian-12')]);
    assert.equal(a.id, b.id);
    assert.equal(server.requests.filter((r) => r.url === '/debian-12-genericcloud-amd64.qcow2').length - before, 1);
  });

  it('imports a vmdk as qcow2, and refuses images that name host files', async () => {
    const root = home('import');
    const lib = openLibrary(root, {});
    const vmdk = join(work, 'router.vmdk');
    execFileSync('qemu-img', ['convert', '-q', '-f', 'qcow2', '-O', 'vmdk', join(served, 'debian-12-genericcloud-amd64.qcow2'), vmdk]);
    const img = await lib.import(vmdk, { name: 'vr1', os: 'debian-12' });
    assert.equal(img.format, 'qcow2');
    assert.equal(img.default_user, 'debian');
    execFileSync('qemu-img', ['compare', '-q', vmdk, img.path!]);

    const evil = join(work, 'evil.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/shadow', '-F', 'raw', evil]);
    await assert.rejects(lib.import(evil), (e: Error & { code?: string }) => e.code === 'unsafe' && /backing file/.test(e.message));
    await assert.rejects(lib.import(vmdk, { name: '../escape' }), (e: Error & { code?: string }) => e.code === 'bad-input');
    assert.deepEqual(lib.images.list().map((i) => i.name), ['vr1']);
  });

  it('scans a directory and detects the OS from file names', async () => {
    const root = home('scan');
    const dir = join(work, 'scandir');
    mkdirSync(dir);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'ubuntu-24.04-server-cloudimg-amd64.img'), '16M']);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const lib = openLibrary(root, {});
    const r = await lib.scan(dir);
    assert.deepEqual(r.added.map((i) => [i.name, i.os_distro, i.os_version, i.default_user]), [['ubuntu-24.04-server-cloudimg-amd64', 'ubuntu', '24.04', 'ubuntu']]);
  });

  it('through the CLI: pull with progress lines, list --json, rm refused while a lab uses it', async () => {
    const root = home('cli');
    catalog(root, [entry('debian-12', 'debian-12-genericcloud-amd64.qcow2')]);
    const env = { VMLAB_HOME: root };
    const r = await vmlab(['images', 'pull', 'debian-12'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /debian-12 100%/);
    const list = JSON.parse((await vmlab(['images', 'list', '--json'], env)).stdout);
    assert.equal(list[0].name, 'debian-12');
    // A lab whose node runs on it.
    const lab = join(root, 'labs', 'l1');
    mkdirSync(lab, { recursive: true });
    writeFileSync(join(lab, 'state.json'), JSON.stringify({ name: 'l1', nodes: {}, plan: { nodes: [{ image: { path: list[0].path } }] } }));
    const rm = await vmlab(['images', 'rm', 'debian-12'], env);
    assert.equal(rm.code, 2);
    assertIncludes(rm.stderr, 'image "debian-12" is used by lab(s) l1');
    assert.equal((await vmlab(['images', 'rm', '--force', 'debian-12'], env)).code, 0);
    assert.equal(existsSync(list[0].path), false);
    const bad = await vmlab(['images', 'pull', 'nope'], env);
    assert.equal(bad.code, 2);
    assertIncludes(bad.stderr, 'no image "nope" in the catalog');
  });
});
