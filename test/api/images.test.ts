import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../../src/service/index.js';
import { auth, multipart, qcow2, testApp, tmp, type TestApp } from './fixture.js';
import { loadSettings } from '../../src/host/settings.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('images, catalog and jobs routes', () => {
  let t: TestApp;
  const dir = tmp();
  const LIMIT = 256 * 1024;
  /** Files in the images dir and its upload dir, to show a refusal leaves nothing. */
  const leftovers = () => {
    const images = join(t.home, 'images');
    const up = join(images, '.uploads');
    return [
      ...(existsSync(images) ? readdirSync(images).filter((f) => f !== '.uploads') : []),
      ...(existsSync(up) ? readdirSync(up) : []),
    ];
  };
  const upload = (fields: Record<string, string>, file?: { name: string; data: Buffer; field?: string }) => {
    const m = multipart(fields, file);
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/images/upload',
      headers: { ...auth, ...m.headers },
      payload: m.payload,
    });
  };
  const waitJob = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const j = (await t.app.inject({ url: `/api/v1/jobs/${id}`, headers: auth })).json();
      if (!['queued', 'running'].includes(j.status)) return j;
      await sleep(50);
    }
    throw new Error(`job ${id} did not finish`);
  };

  before(async () => (t = await testApp({ maxUploadBytes: LIMIT })));
  after(() => t.app.close());

  it('GET /catalog lists what can be pulled; pulling an unknown id is refused before any job', async () => {
    const r = await t.app.inject({ url: '/api/v1/catalog', headers: auth });
    assert.equal(r.statusCode, 200);
    assert.ok(r.json().some((e: { id: string }) => e.id === 'debian-12'));
    const p = await t.app.inject({ method: 'POST', url: '/api/v1/catalog/no-such-os/pull', headers: auth });
    // An id the catalog does not know is not_found: 404.
    assert.equal(p.statusCode, 404);
    assert.equal(p.json().error.code, 'not_found');
    assert.deepEqual((await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json(), []);
  });

  it('upload: a qcow2 is streamed in, hashed and registered (201 with the image)', async () => {
    const data = readFileSync(qcow2(dir, 'up1.qcow2'));
    const r = await upload({ os: 'debian-12' }, { name: 'router-a.qcow2', data });
    assert.equal(r.statusCode, 201, r.body);
    const img = r.json();
    assert.equal(img.name, 'router-a');
    assert.equal(img.status, 'ready');
    assert.equal(img.format, 'qcow2');
    assert.equal(img.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(img.os_distro, 'debian');
    assert.equal(img.default_user, 'debian');
    assert.deepEqual(leftovers(), ['router-a.qcow2']);
    const list = (await t.app.inject({ url: '/api/v1/images', headers: auth })).json();
    assert.deepEqual(
      list.map((i: { name: string }) => i.name),
      ['router-a'],
    );
  });

  it('upload refusals are 4xx and leave nothing: over the limit (413, streamed and declared), not an image, unsafe, wrong checksum, bad fields, no file', async () => {
    const before = leftovers();
    const streamed = await upload({ name: 'big' }, { name: 'big.qcow2', data: randomBytes(LIMIT * 2) });
    assert.equal(streamed.statusCode, 413, streamed.body);
    assert.equal(streamed.json().error.code, 'too_large');
    const declared = await upload({}, { name: 'huge.qcow2', data: Buffer.alloc(LIMIT + 2 * 1024 * 1024) });
    assert.equal(declared.statusCode, 413);

    const text = await upload(
      { name: 'notes' },
      { name: 'notes.qcow2', data: Buffer.from('<html>not an image</html>\n'.repeat(100)) },
    );
    assert.equal(text.statusCode, 422, text.body);
    assert.equal(text.json().error.code, 'not_an_image');

    qcow2(dir, 'base.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      join(dir, 'base.qcow2'),
      '-F',
      'qcow2',
      join(dir, 'child.qcow2'),
    ]);
    const unsafe = await upload(
      { name: 'child' },
      { name: 'child.qcow2', data: readFileSync(join(dir, 'child.qcow2')) },
    );
    assert.equal(unsafe.statusCode, 422, unsafe.body);
    assert.equal(unsafe.json().error.code, 'unsafe');

    const sum = await upload(
      { name: 'sum', checksum: `sha256:${'0'.repeat(64)}` },
      { name: 's.qcow2', data: readFileSync(qcow2(dir, 's.qcow2')) },
    );
    assert.equal(sum.statusCode, 422);
    assert.equal(sum.json().error.code, 'checksum_mismatch');

    const fields = await upload(
      { name: 'ok', colour: 'red' },
      { name: 'f.qcow2', data: readFileSync(qcow2(dir, 'f.qcow2')) },
    );
    assert.equal(fields.statusCode, 422);
    assert.deepEqual(fields.json().error.details, [{ in: 'body', path: 'colour', message: 'unknown field' }]);

    const none = await upload({ name: 'nothing' });
    assert.equal(none.statusCode, 422);
    assert.deepEqual(
      none.json().error.details.map((d: { path: string }) => d.path),
      ['file'],
    );

    const json = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/upload',
      headers: auth,
      payload: { file: 'x' },
    });
    assert.equal(json.statusCode, 422);
    assert.equal(json.json().error.code, 'not_multipart');

    const dup = await upload({ name: 'router-a' }, { name: 'x.qcow2', data: readFileSync(qcow2(dir, 'x.qcow2')) });
    assert.equal(dup.statusCode, 409); // the name is taken: a conflict
    assert.equal(dup.json().error.code, 'exists');
    assert.deepEqual(leftovers(), before);
    assert.deepEqual(
      (await t.app.inject({ url: '/api/v1/images', headers: auth })).json().map((i: { name: string }) => i.name),
      ['router-a'],
    );
  });

  it('GET and PATCH an image by name or id; 404, 409 and 422 as they come', async () => {
    const got = await t.app.inject({ url: '/api/v1/images/router-a', headers: auth });
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json().used_by, []);
    const id = got.json().id;
    assert.equal((await t.app.inject({ url: `/api/v1/images/${id}`, headers: auth })).json().name, 'router-a');
    assert.equal((await t.app.inject({ url: '/api/v1/images/nope', headers: auth })).statusCode, 404);

    const p = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/images/${id}`,
      headers: auth,
      payload: { name: 'router-b', os_distro: 'alpine', os_version: '3.23', default_user: 'alpine', cloud_init: false },
    });
    assert.equal(p.statusCode, 200, p.body);
    assert.equal(p.json().name, 'router-b');
    assert.equal(p.json().default_user, 'alpine');
    assert.equal(p.json().cloud_init, 0);
    assert.equal(
      (await t.app.inject({ method: 'PATCH', url: '/api/v1/images/nope', headers: auth, payload: { name: 'z' } }))
        .statusCode,
      404,
    );
    const bad = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/images/${id}`,
      headers: auth,
      payload: { name: '../etc' },
    });
    assert.equal(bad.statusCode, 422);
    // A user that would add a line to user-data or ssh_config (issue 20, item 4, through the library).
    for (const user of ['alpine\nProxyCommand touch /tmp/pwned', '-oProxyCommand=x', 'a%h']) {
      const inj = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/images/${id}`,
        headers: auth,
        payload: { default_user: user },
      });
      assert.equal(inj.statusCode, 422, user);
      assert.equal(inj.json().error.code, 'invalid_default_user');
    }
    assert.equal((await t.app.inject({ url: `/api/v1/images/${id}`, headers: auth })).json().default_user, 'alpine');
    const empty = await t.app.inject({ method: 'PATCH', url: `/api/v1/images/${id}`, headers: auth, payload: {} });
    assert.equal(empty.statusCode, 422);

    const second = await upload(
      { name: 'second' },
      { name: 'second.qcow2', data: readFileSync(qcow2(dir, 'second.qcow2')) },
    );
    assert.equal(second.statusCode, 201);
    const taken = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/images/second',
      headers: auth,
      payload: { name: 'router-b' },
    });
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().error.code, 'name_taken');
  });

  it('GET /images answers from a cache only while the store is unchanged: a change by another process (the CLI) shows at once', async () => {
    const names = async () =>
      (await t.app.inject({ url: '/api/v1/images', headers: auth }))
        .json()
        .map((i: { name: string; default_user: string }) => `${i.name}:${i.default_user}`);
    const first = await names();
    assert.deepEqual(await names(), first);
    const cli = createServices(loadSettings({ ...process.env, VMLAB_HOME: t.home }));
    cli.images.update('router-b', { default_user: 'changed-elsewhere' });
    assert.ok((await names()).includes('router-b:changed-elsewhere'));
    cli.images.update('router-b', { default_user: 'alpine' });
    assert.ok((await names()).includes('router-b:alpine'));
  });

  it('verify re-hashes (404 for an unknown image); scan registers files on disk', async () => {
    const v = await t.app.inject({ method: 'POST', url: '/api/v1/images/router-b/verify', headers: auth });
    assert.equal(v.statusCode, 200);
    assert.match(v.json().sha256, /^[0-9a-f]{64}$/);
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/images/nope/verify', headers: auth })).statusCode,
      404,
    );

    const scanDir = tmp();
    qcow2(scanDir, 'debian-12-generic-amd64.qcow2');
    const s = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/scan',
      headers: auth,
      payload: { dir: scanDir },
    });
    assert.equal(s.statusCode, 200, s.body);
    assert.deepEqual(
      s.json().added.map((i: { os_distro: string }) => i.os_distro),
      ['debian'],
    );
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/images/scan', headers: auth, payload: { dir: 'relative' } }))
        .statusCode,
      422,
    );
  });

  it('import from a path is a job (202); its events end with the outcome; jobs list, get, cancel', async () => {
    const src = qcow2(dir, 'imported.qcow2');
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: auth,
      payload: { path: src, name: 'imported', os: 'ubuntu-24.04' },
    });
    assert.equal(r.statusCode, 202, r.body);
    const id = r.json().job_id;
    const job = await waitJob(id);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal((await t.app.inject({ url: '/api/v1/images/imported', headers: auth })).json().default_user, 'ubuntu');

    const ev = await t.app.inject({ url: `/api/v1/jobs/${id}/events`, headers: auth });
    assert.equal(ev.statusCode, 200);
    assert.match(String(ev.headers['content-type']), /^text\/event-stream/);
    const events = ev.body
      .split('\n\n')
      .filter(Boolean)
      .map((f) => ({ event: /event: (\w+)/.exec(f)![1], data: JSON.parse(/data: (.*)/.exec(f)![1]!) }));
    assert.equal(events[0]!.event, 'progress');
    assert.ok(events.some((e) => e.event === 'log'));
    assert.deepEqual(events.at(-1), {
      event: 'end',
      data: { status: 'succeeded', error: null, target: job.target, finished_at: job.finished_at },
    });
    assert.equal((await t.app.inject({ url: '/api/v1/jobs/nope/events', headers: auth })).statusCode, 404);

    const list = (await t.app.inject({ url: '/api/v1/jobs?limit=100', headers: auth })).json();
    assert.ok(list.some((j: { id: string }) => j.id === id));
    const c = await t.app.inject({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, headers: auth });
    assert.equal(c.statusCode, 409);
    assert.equal(c.json().error.code, 'job_not_active');
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/jobs/nope/cancel', headers: auth })).statusCode,
      404,
    );

    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: auth,
      payload: { path: join(dir, 'absent.qcow2') },
    });
    assert.ok([202, 404].includes(missing.statusCode), missing.body);
    if (missing.statusCode === 202) assert.equal((await waitJob(missing.json().job_id)).status, 'failed');
  });

  it('a queued job is cancelled at once', async () => {
    // Fill the slots with slow work, queue one more, cancel it.
    const release: Array<() => void> = [];
    const slow = () => t.services.jobs.run('test', null, {}, () => new Promise<void>((r) => release.push(r)));
    for (let i = 0; i < t.services.jobs.limit; i++) slow();
    const { job, done } = slow();
    const c = await t.app.inject({ method: 'POST', url: `/api/v1/jobs/${job.id}/cancel`, headers: auth });
    assert.equal(c.statusCode, 200, c.body);
    assert.equal(c.json().outcome, 'cancelled');
    assert.equal(c.json().job.status, 'cancelled');
    for (const r of release) r();
    await assert.rejects(done);
  });

  it('imports wait for a job slot as deploys do: queued (and holding their name) while the slots are busy, cancelled cleanly while queued', async () => {
    const release: Array<() => void> = [];
    const busy = Array.from(
      { length: t.services.jobs.limit },
      () => t.services.jobs.run('test', null, {}, () => new Promise<void>((r) => release.push(r))).done,
    );
    const src = qcow2(dir, 'queued-src.qcow2');
    const a = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: auth,
      payload: { path: src, name: 'queued-a' },
    });
    assert.equal(a.statusCode, 202, a.body);
    const b = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: auth,
      payload: { path: src, name: 'queued-b' },
    });
    assert.equal(b.statusCode, 202, b.body);
    await sleep(300);
    const ja = (await t.app.inject({ url: `/api/v1/jobs/${a.json().job_id}`, headers: auth })).json();
    assert.equal(ja.status, 'queued', 'no slot free: the import waits');
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: auth,
      payload: { path: src, name: 'queued-a' },
    });
    assert.equal(again.statusCode, 409, `a queued import holds its name: ${again.body}`);
    const c = await t.app.inject({ method: 'POST', url: `/api/v1/jobs/${b.json().job_id}/cancel`, headers: auth });
    assert.equal(c.json().outcome, 'cancelled');
    for (const r of release) r();
    await Promise.all(busy);
    assert.equal((await waitJob(a.json().job_id)).status, 'succeeded');
    assert.equal((await waitJob(b.json().job_id)).status, 'cancelled');
    assert.equal((await t.app.inject({ url: '/api/v1/images/queued-a', headers: auth })).json().status, 'ready');
    assert.equal(
      (await t.app.inject({ url: '/api/v1/images/queued-b', headers: auth })).statusCode,
      404,
      'the cancelled import left no record',
    );
  });

  it('an upload that needs a conversion taking longer than the wait answers 202 with its job, which ends with the image ready', async () => {
    const slow = await testApp({ uploadWaitMs: 0 });
    try {
      const raw = join(tmp(), 'disk.vmdk');
      execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'vmdk', qcow2(tmp(), 'src.qcow2', '32M'), raw]);
      const m = multipart({ name: 'converted' }, { name: 'disk.vmdk', data: readFileSync(raw) });
      const r = await slow.app.inject({
        method: 'POST',
        url: '/api/v1/images/upload',
        headers: { ...auth, ...m.headers },
        payload: m.payload,
      });
      assert.equal(r.statusCode, 202, r.body);
      const id = r.json().job_id;
      let job = { status: 'running', error: null as string | null };
      for (let i = 0; i < 200 && ['queued', 'running'].includes(job.status); i++) {
        await sleep(50);
        job = (await slow.app.inject({ url: `/api/v1/jobs/${id}`, headers: auth })).json();
      }
      assert.equal(job.status, 'succeeded', job.error ?? '');
      const img = (await slow.app.inject({ url: '/api/v1/images/converted', headers: auth })).json();
      assert.equal(img.status, 'ready');
      assert.equal(img.format, 'qcow2');
    } finally {
      await slow.app.close();
    }
  });

  it('DELETE removes an image; an unknown one is 404', async () => {
    const d = await t.app.inject({ method: 'DELETE', url: '/api/v1/images/second', headers: auth });
    assert.equal(d.statusCode, 200);
    assert.equal(d.json().name, 'second');
    assert.equal((await t.app.inject({ url: '/api/v1/images/second', headers: auth })).statusCode, 404);
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: '/api/v1/images/second', headers: auth })).statusCode,
      404,
    );
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: '/api/v1/images/router-b?force=maybe', headers: auth })).statusCode,
      422,
    );
  });
});
