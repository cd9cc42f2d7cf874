import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN, auth, qcow2, testApp, tmp, type TestApp } from './fixture.js';

/*
 * Issue 20, items 7 and 9, as the attacks were made: a client with the
 * token naming server paths outside VMLAB_HOME and the allowed roots
 * (through symlinks too), and a page on a foreign name reaching the
 * server by DNS rebinding.
 */

const POST = (t: TestApp, url: string, payload: unknown) =>
  t.app.inject({ method: 'POST', url, headers: auth, payload: payload as Record<string, unknown> });

describe('paths in requests stay inside VMLAB_HOME and the allowed roots', () => {
  let t: TestApp;
  let outside: string;
  let victim: string;
  let allowed: string;
  before(async () => {
    // Not under the fixture's allowed root: a directory of the server's user the API has no business with.
    outside = mkdtempSync('/tmp/vmlab-outside-');
    victim = join(outside, 'victim.tar');
    writeFileSync(victim, "the user's own file\n");
    allowed = tmp();
    t = await testApp();
  });
  after(() => t.app.close());

  const refused = (
    r: { statusCode: number; json: () => { error: { code: string; message: string; hint: string } } },
    field: string,
    path: string,
  ) => {
    assert.equal(r.statusCode, 403, JSON.stringify(r.json()));
    const e = r.json().error;
    assert.equal(e.code, 'path_not_allowed');
    assert.ok(e.message.startsWith(`${field}: ${path}`), e.message);
    assert.match(
      e.message,
      new RegExp(`outside the directories this server may use: .*${t.home.replace(/[.]/g, '\\.')}`),
    );
    assert.match(e.hint, /vmlab serve --allow-path /);
  };

  it('a snapshot export to a file outside is refused, and the file is untouched', async () => {
    refused(
      await POST(t, '/api/v1/labs/x/snapshots', { name: 's1', export: victim, overwrite: true }),
      'export',
      victim,
    );
    // Through a symlink inside VMLAB_HOME, to a directory and to a file not there yet.
    symlinkSync(outside, join(t.home, 'out-dir'));
    refused(
      await POST(t, '/api/v1/labs/x/snapshots', {
        name: 's1',
        export: join(t.home, 'out-dir', 'victim.tar'),
        overwrite: true,
      }),
      'export',
      join(t.home, 'out-dir', 'victim.tar'),
    );
    symlinkSync(join(outside, 'new.tar'), join(t.home, 'dangling.tar'));
    refused(
      await POST(t, '/api/v1/labs/x/snapshots', { name: 's1', export: join(t.home, 'dangling.tar') }),
      'export',
      join(t.home, 'dangling.tar'),
    );
    refused(
      await POST(t, '/api/v1/labs/x/snapshots', { name: 's1', export: `${t.home}/../${basename(outside)}/victim.tar` }),
      'export',
      `${t.home}/../${basename(outside)}/victim.tar`,
    );
    assert.equal(readFileSync(victim, 'utf8'), "the user's own file\n");
    assert.deepEqual(readdirSync(outside), ['victim.tar']);
  });

  it('an export inside a root: an existing file is not overwritten unless asked; a new one goes on to the lab (404 here)', async () => {
    const there = join(allowed, 'there.tar');
    writeFileSync(there, 'keep me\n');
    const r = await POST(t, '/api/v1/labs/x/snapshots', { name: 's1', export: there });
    assert.equal(r.statusCode, 409);
    assert.equal(r.json().error.code, 'file_exists');
    assert.match(r.json().error.hint, /"overwrite": true/);
    assert.equal(readFileSync(there, 'utf8'), 'keep me\n');
    for (const body of [
      { export: join(allowed, 'new.tar') },
      { export: there, overwrite: true },
      { export: 'stored-name' },
      { export: join(t.home, 'exports', 'a.tar') },
    ]) {
      const ok = await POST(t, '/api/v1/labs/x/snapshots', { name: 's1', ...body });
      assert.equal(ok.statusCode, 404, JSON.stringify(body));
      assert.equal(ok.json().error.code, 'lab_not_found');
    }
  });

  it("spec_dir, a warm-start snapshot file and an inline spec's vm_image file outside are refused before any job", async () => {
    const specDir = join(outside, 'spec');
    mkdirSync(specDir);
    writeFileSync(join(specDir, 'topology.json'), JSON.stringify({ devices: { r1: {} } }));
    refused(await POST(t, '/api/v1/labs', { spec_dir: specDir }), 'spec_dir', specDir);
    symlinkSync(specDir, join(allowed, 'spec-link'));
    refused(
      await POST(t, '/api/v1/labs', { spec_dir: join(allowed, 'spec-link') }),
      'spec_dir',
      join(allowed, 'spec-link'),
    );
    const inline = { name: 'inl', topology: { devices: { r1: {} } } };
    refused(await POST(t, '/api/v1/labs', { ...inline, snapshot: victim }), 'snapshot', victim);
    const disk = qcow2(outside, 'host-disk.qcow2');
    refused(
      await POST(t, '/api/v1/labs', { ...inline, profiles: { r1: { vm_image: disk } } }),
      'profiles.r1.vm_image',
      disk,
    );
    refused(
      await POST(t, '/api/v1/labs', { ...inline, platforms: { platforms: { p: { vm_image: disk } } } }),
      'platforms.platforms.p.vm_image',
      disk,
    );
    // Relative to the inline spec's dir ($VMLAB_HOME/specs/inl), climbing out.
    const climb = `../../..${disk}`;
    refused(
      await POST(t, '/api/v1/labs', { ...inline, profiles: { r1: { vm_image: climb } } }),
      'profiles.r1.vm_image',
      join(t.home, 'specs', 'inl', climb),
    );
    assert.deepEqual((await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json(), [], 'no job was started');
    // A spec dir inside an allowed root goes on to be loaded (here: a spec error, 422).
    const good = join(allowed, 'spec');
    mkdirSync(good);
    writeFileSync(join(good, 'topology.json'), '{"devices": 1}');
    const r = await POST(t, '/api/v1/labs', { spec_dir: good });
    assert.equal(r.statusCode, 422, r.body);
    // A library image name is no path.
    const lib = await POST(t, '/api/v1/labs', { ...inline, profiles: { r1: { vm_image: 'no-such-image' } } });
    assert.equal(lib.statusCode, 422, lib.body);
  });

  it('an import path and a scan dir outside are refused; inside a root they work', async () => {
    const disk = qcow2(outside, 'theirs.qcow2');
    refused(await POST(t, '/api/v1/images/import', { path: disk, name: 'theirs' }), 'path', disk);
    symlinkSync(disk, join(allowed, 'looks-inside.qcow2'));
    refused(
      await POST(t, '/api/v1/images/import', { path: join(allowed, 'looks-inside.qcow2'), name: 'theirs' }),
      'path',
      join(allowed, 'looks-inside.qcow2'),
    );
    refused(await POST(t, '/api/v1/images/scan', { dir: outside }), 'dir', outside);
    assert.deepEqual((await t.app.inject({ url: '/api/v1/images', headers: auth })).json(), []);
    const mine = qcow2(allowed, 'mine.qcow2');
    assert.equal((await POST(t, '/api/v1/images/import', { path: mine, name: 'mine' })).statusCode, 202);
    const scanned = await POST(t, '/api/v1/images/scan', { dir: join(t.home, 'images') });
    assert.equal(scanned.statusCode, 200, scanned.body);
  });

  it('with no extra roots only VMLAB_HOME is allowed', async () => {
    const only = await testApp({ allowPaths: [] });
    try {
      const disk = qcow2(allowed, 'elsewhere.qcow2');
      const r = await POST(only, '/api/v1/images/import', { path: disk });
      assert.equal(r.statusCode, 403);
      assert.match(
        r.json().error.message,
        new RegExp(`outside the directories this server may use: ${only.home.replace(/[.]/g, '\\.')}$`),
      );
    } finally {
      await only.app.close();
    }
  });
});

describe('the Host header names this server (DNS rebinding)', () => {
  let t: TestApp;
  before(async () => (t = await testApp({ hostNames: ['lab.example.org'] })));
  after(() => t.app.close());

  it('a foreign Host is 421 on the routes without a token, the login link, the API and a WebSocket upgrade', async () => {
    for (const [url, headers] of [
      ['/healthz', {}],
      ['/api/v1/session', {}],
      ['/', {}],
      [`/?token=${TOKEN}`, {}],
      ['/api/v1/images', auth],
      [
        '/api/v1/labs/x/nodes/y/console',
        { ...auth, connection: 'upgrade', upgrade: 'websocket', origin: 'http://evil.example' },
      ],
    ] as const) {
      for (const host of ['evil.example', 'evil.example:80', '127.0.0.1.evil.example', 'localhost@evil.example']) {
        const r = await t.app.inject({ url, headers: { ...headers, host } });
        assert.equal(r.statusCode, 421, `${url} ${host}`);
        assert.equal(r.json().error.code, 'host_not_allowed');
        assert.match(
          r.json().error.message,
          /does not name this server \(it answers to localhost, 127\.0\.0\.1, \[::1\], lab\.example\.org\)/,
        );
        assert.match(r.json().error.hint, /--host-name/);
        assert.equal(r.headers['set-cookie'], undefined);
      }
    }
  });

  it('loopback names and a configured name are let in', async () => {
    for (const host of [
      'localhost',
      'localhost:80',
      '127.0.0.1',
      '[::1]:80',
      'lab.example.org',
      'lab.example.org:8443',
    ]) {
      assert.equal((await t.app.inject({ url: '/healthz', headers: { host } })).statusCode, 200, host);
    }
  });

  it('listening on every address: each address of this machine is a name of it, a DNS name still is not', async () => {
    const any = await testApp({ listenHost: '0.0.0.0' });
    try {
      const addrs = Object.values(networkInterfaces())
        .flatMap((l) => l ?? [])
        .map((a) => (a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address));
      assert.ok(addrs.length > 0);
      for (const a of addrs)
        assert.equal((await any.app.inject({ url: '/healthz', headers: { host: a } })).statusCode, 200, a);
      assert.equal(
        (await any.app.inject({ url: '/healthz', headers: { host: 'rebind.evil.example' } })).statusCode,
        421,
      );
      assert.equal(
        (await any.app.inject({ url: '/healthz', headers: { host: '0.0.0.0' } })).statusCode,
        421,
        'not an address a client reaches',
      );
    } finally {
      await any.app.close();
    }
  });
});
