import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLibrary } from '../../src/images/openLibrary.js';
import { serveDir } from '../helpers/fileServer.js';
import { startForwardProxy, type TestServer } from '../helpers/httpServer.js';
import { vmlab } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';

/**
 * The image library against a real HTTP server on 127.0.0.1 and real
 * qemu-img images: catalog → pull → verify, imports, and every way an
 * untrusted download or file is refused.
 */
const MiB = 1024 * 1024;
// The drop tests cut the one stream at set points: one connection (segmented downloads: test/unit/images/segmented).
const fast = { VMLAB_DOWNLOAD_RETRY_DELAY_MS: '20', VMLAB_DOWNLOAD_CONNECTIONS: '1' };
const rangesOf = (server: TestServer, path: string) =>
  server.requests.filter((r) => r.url === path).map((r) => r.headers.range);

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
    execFileSync('qemu-img', [
      'convert',
      '-q',
      '-f',
      'raw',
      '-O',
      'qcow2',
      raw,
      join(served, 'debian-12-genericcloud-amd64.qcow2'),
    ]);
    sha = createHash('sha256')
      .update(readFileSync(join(served, 'debian-12-genericcloud-amd64.qcow2')))
      .digest('hex');
    writeFileSync(
      join(served, 'SHA256SUMS'),
      `${sha} *debian-12-genericcloud-amd64.qcow2\n${'0'.repeat(64)}  wrong.qcow2\n`,
    );
    execFileSync('cp', [join(served, 'debian-12-genericcloud-amd64.qcow2'), join(served, 'wrong.qcow2')]);
    execFileSync('cp', [join(served, 'debian-12-genericcloud-amd64.qcow2'), join(served, 'flaky.qcow2')]);
    execFileSync('cp', [join(served, 'debian-12-genericcloud-amd64.qcow2'), join(served, 'dying.qcow2')]);
    execFileSync('cp', [join(served, 'debian-12-genericcloud-amd64.qcow2'), join(served, 'abandoned.qcow2')]);
    writeFileSync(join(served, 'FLAKYSUMS'), `${sha}  flaky.qcow2\n`);
    writeFileSync(join(served, 'text.qcow2'), 'this is not a disk\n');
    server = await serveDir(served, {
      // Drops mid-body: a few in one run (which survives them), then a run whose attempts all fail.
      drops: {
        '/flaky.qcow2': [5 * MiB, 3 * MiB, 7 * MiB],
        '/dying.qcow2': [4 * MiB, 0, 0, 0, 0],
        '/abandoned.qcow2': [2 * MiB, 0],
      },
      override: {
        '/html.qcow2': { status: 200, body: '<!DOCTYPE html><html><body>Sign in</body></html>', type: 'text/html' },
      },
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

  it('survives connections dropped mid-body in one pull: retries and resumes with Range', async () => {
    const root = home('resume');
    catalog(root, [{ ...entry('flaky', 'flaky.qcow2', 'FLAKYSUMS') }]);
    const lib = openLibrary(root, fast);
    const lines: string[] = [];
    const img = await lib.pull('flaky', { log: (l) => lines.push(l) });
    assert.equal(img.status, 'ready');
    assert.equal(img.sha256, sha);
    assert.equal(createHash('sha256').update(readFileSync(img.path!)).digest('hex'), sha);
    assert.deepEqual(rangesOf(server, '/flaky.qcow2'), [
      undefined,
      `bytes=${5 * MiB}-`,
      `bytes=${8 * MiB}-`,
      `bytes=${15 * MiB}-`,
    ]);
    assert.equal(lines.filter((l) => l.includes('resuming at byte')).length, 3, lines.join('\n'));
    assert.deepEqual(readdirSync(join(root, 'images')), ['flaky.qcow2']);
    assert.equal(lib.jobs.list()[0]!.status, 'succeeded');
  });

  it('after its attempts gives up clearly; the same import again is not blocked, and resumes', async () => {
    const root = home('exhaust');
    const url = `${server.url}/dying.qcow2`;
    const lib = openLibrary(root, fast);
    await assert.rejects(
      lib.import(url, { checksum: `sha256:${sha}` }),
      (e: Error & { code?: string; hint?: string }) => {
        assert.equal(e.code, 'network');
        assertIncludes(e.message, `Download of ${url} failed after 5 attempts`);
        assertIncludes(e.message, `${4 * MiB} of ${statSync(join(served, 'dying.qcow2')).size} bytes received`);
        assertIncludes(e.hint ?? '', 'run the same command again to resume');
        return true;
      },
    );
    const failed = lib.images.find('dying')!;
    assert.equal(failed.status, 'failed');
    assert.equal(lib.jobs.list()[0]!.status, 'failed');
    assert.deepEqual(readdirSync(join(root, 'images')).sort(), ['dying.download.part', 'dying.download.part.json']);

    // The same command again (a new process would do the same: a fresh library).
    const again = await openLibrary(root, fast).import(url, { checksum: `sha256:${sha}` });
    assert.equal(again.id, failed.id, 'the failed record is taken over, not "exists already"');
    assert.equal(again.status, 'ready');
    assert.equal(again.sha256, sha);
    assert.equal(rangesOf(server, '/dying.qcow2').at(-1), `bytes=${4 * MiB}-`);
    assert.deepEqual(readdirSync(join(root, 'images')), ['dying.qcow2']);
    // Now it is there: a third import is refused.
    await assert.rejects(openLibrary(root, fast).import(url), /an image named "dying" exists already/);
  });

  it('rm of an interrupted import removes its part files too; files and store are private', async () => {
    const root = home('rm-part');
    const lib = openLibrary(root, { ...fast, VMLAB_DOWNLOAD_ATTEMPTS: '2' });
    await assert.rejects(lib.import(`${server.url}/abandoned.qcow2`, { name: 'ab' }), /after 2 attempts/);
    assert.deepEqual(readdirSync(join(root, 'images')).sort(), ['ab.download.part', 'ab.download.part.json']);
    const mode = (f: string) => statSync(f).mode & 0o777;
    assert.equal(mode(join(root, 'images', 'ab.download.part')), 0o600);
    lib.remove('ab', false);
    assert.deepEqual(readdirSync(join(root, 'images')), []);
    assert.deepEqual(lib.images.list(), []);

    const img = await lib.import(`${server.url}/debian-12-genericcloud-amd64.qcow2`, { name: 'priv' });
    assert.equal(mode(join(root, 'images')), 0o700);
    assert.equal(mode(img.path!), 0o600);
    for (const f of ['vmlab.db', 'vmlab.db-wal', 'vmlab.db-shm']) assert.equal(mode(join(root, f)), 0o600, f);
  });

  it('opening the library removes a checkpoint copy whose writer was killed, not one still being written', () => {
    const root = home('ckpt-part');
    openLibrary(root, fast).db.close();
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim()); // a pid that has exited
    const images = join(root, 'images');
    writeFileSync(join(images, `warm.qcow2.part-${dead}`), 'half a checkpoint');
    writeFileSync(join(images, `busy.qcow2.part-${process.pid}`), 'being written');
    openLibrary(root, fast).db.close();
    assert.deepEqual(readdirSync(images), [`busy.qcow2.part-${process.pid}`]);
  });

  it('refuses a download that is not a disk image (19 bytes of text named .qcow2) and keeps nothing', async () => {
    const root = home('text');
    const lib = openLibrary(root, fast);
    const url = `${server.url}/text.qcow2`;
    await assert.rejects(lib.import(url), (e: Error & { code?: string; exitCode?: number }) => {
      assert.equal(e.code, 'not_an_image');
      assert.equal(e.exitCode, 2);
      assertIncludes(
        e.message,
        `${url} is not a qcow2 image: expected a qcow2 header (the name ends in .qcow2), got 19 bytes with no image header`,
      );
      return true;
    });
    assert.deepEqual(lib.images.list(), []);
    assert.deepEqual(readdirSync(join(root, 'images')), []);
  });

  it('rejects a checksum mismatch and registers nothing', async () => {
    const root = home('mismatch');
    catalog(root, [entry('wrong', 'wrong.qcow2')]);
    const lib = openLibrary(root, {});
    await assert.rejects(lib.pull('wrong'), (e: Error & { code?: string }) => e.code === 'checksum_mismatch');
    assert.deepEqual(lib.images.list(), []);
    assert.deepEqual(
      readdirSync(join(root, 'images')).filter((f) => !f.endsWith('.json')),
      [],
    );
  });

  it('rejects 404 and HTML pages and registers nothing', async () => {
    const root = home('bad');
    const lib = openLibrary(root, {});
    await assert.rejects(
      lib.import(`${server.url}/missing.qcow2`),
      (e: Error & { code?: string }) => e.code === 'not_found',
    );
    await assert.rejects(
      lib.import(`${server.url}/html.qcow2`),
      (e: Error & { code?: string }) => e.code === 'not_an_image',
    );
    assert.deepEqual(lib.images.list(), []);
  });

  it('shares one transfer between concurrent pulls of one image', async () => {
    const root = home('concurrent');
    catalog(root, [entry('debian-12', 'debian-12-genericcloud-amd64.qcow2')]);
    const lib = openLibrary(root, {});
    const before = server.requests.filter((r) => r.url === '/debian-12-genericcloud-amd64.qcow2').length;
    const [a, b] = await Promise.all([lib.pull('debian-12'), lib.pull('debian-12')]);
    assert.equal(a.id, b.id);
    // One transfer: one plain GET (then, the file being big enough, each segment asked once).
    const asked = rangesOf(server, '/debian-12-genericcloud-amd64.qcow2').slice(before);
    assert.equal(asked.filter((r) => r === undefined).length, 1, asked.join(', '));
    assert.equal(new Set(asked).size, asked.length, `no range asked twice: ${asked.join(', ')}`);
  });

  it('imports a vmdk as qcow2, and refuses images that name host files', async () => {
    const root = home('import');
    const lib = openLibrary(root, {});
    const vmdk = join(work, 'router.vmdk');
    execFileSync('qemu-img', [
      'convert',
      '-q',
      '-f',
      'qcow2',
      '-O',
      'vmdk',
      join(served, 'debian-12-genericcloud-amd64.qcow2'),
      vmdk,
    ]);
    const img = await lib.import(vmdk, { name: 'vr1', os: 'debian-12' });
    assert.equal(img.format, 'qcow2');
    assert.equal(img.default_user, 'debian');
    execFileSync('qemu-img', ['compare', '-q', vmdk, img.path!]);

    const evil = join(work, 'evil.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/shadow', '-F', 'raw', evil]);
    await assert.rejects(
      lib.import(evil),
      (e: Error & { code?: string }) => e.code === 'unsafe' && /backing file/.test(e.message),
    );
    await assert.rejects(
      lib.import(vmdk, { name: '../escape' }),
      (e: Error & { code?: string }) => e.code === 'bad_input',
    );
    assert.deepEqual(
      lib.images.list().map((i) => i.name),
      ['vr1'],
    );
  });

  it('scans a directory and detects the OS from file names', async () => {
    const root = home('scan');
    const dir = join(work, 'scandir');
    mkdirSync(dir);
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      join(dir, 'ubuntu-24.04-server-cloudimg-amd64.img'),
      '16M',
    ]);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const lib = openLibrary(root, {});
    const r = await lib.scan(dir);
    assert.deepEqual(
      r.added.map((i) => [i.name, i.os_distro, i.os_version, i.default_user]),
      [['ubuntu-24.04-server-cloudimg-amd64', 'ubuntu', '24.04', 'ubuntu']],
    );
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
    writeFileSync(
      join(lab, 'state.json'),
      JSON.stringify({ name: 'l1', nodes: {}, plan: { nodes: [{ image: { path: list[0].path } }] } }),
    );
    const rm = await vmlab(['images', 'rm', 'debian-12'], env);
    assert.equal(rm.code, 1); // a conflict (409 in the API), not bad input
    assertIncludes(rm.stderr, 'image "debian-12" is used by lab(s) l1');
    assert.equal((await vmlab(['images', 'rm', '--force', 'debian-12'], env)).code, 0);
    assert.equal(existsSync(list[0].path), false);
    const bad = await vmlab(['images', 'pull', 'nope'], env);
    assert.equal(bad.code, 2);
    assertIncludes(bad.stderr, 'no image "nope" in the catalog');
  });

  it('through the CLI: HTTP_PROXY is honoured, NO_PROXY bypasses it', async () => {
    const proxy = await startForwardProxy();
    try {
      const root = home('proxy');
      const url = `${server.url}/debian-12-genericcloud-amd64.qcow2`;
      const r = await vmlab(['images', 'import', url, '--name', 'via-proxy'], {
        VMLAB_HOME: root,
        HTTP_PROXY: proxy.url,
        NO_PROXY: '',
      });
      assert.equal(r.code, 0, r.stderr);
      // Every request (the GET, and each segment's) went through the proxy.
      const viaProxy = proxy.requests.length;
      assert.ok(viaProxy >= 1);
      assert.deepEqual(new Set(proxy.requests.map((q) => `${q.method} ${q.url}`)), new Set([`GET ${url}`]));
      const direct = await vmlab(['images', 'import', url, '--name', 'direct'], {
        VMLAB_HOME: root,
        http_proxy: proxy.url,
        no_proxy: '127.0.0.1',
      });
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(proxy.requests.length, viaProxy, 'no_proxy bypassed the proxy');
      const list = JSON.parse((await vmlab(['images', 'list', '--json'], { VMLAB_HOME: root })).stdout) as Array<{
        name: string;
        sha256: string;
      }>;
      assert.deepEqual(
        list.map((i) => [i.name, i.sha256]),
        [
          ['direct', sha],
          ['via-proxy', sha],
        ],
      );
    } finally {
      await proxy.close();
    }
  });
});
