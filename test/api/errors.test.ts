import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VmlabError } from '../../src/errors/vmlabError.js';
import { auth, testApp, type TestApp } from './fixture.js';

describe('errors are data', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
    // Routes that throw what services throw, to see each class mapped.
    t.app.get('/api/v1/test/unknown', async () => {
      throw new Error('secret internals: /etc/shadow at db.ts:42');
    });
    t.app.get('/api/v1/test/conflict', async () => {
      throw new VmlabError('busy_thing', 'the thing is busy', { kind: 'conflict', hint: 'wait' });
    });
    t.app.get('/api/v1/test/failure', async () => {
      throw new VmlabError('download_failed', 'download of x failed: HTTP 503', { kind: 'failure' });
    });
  });
  after(() => t.app.close());

  it('an unknown error is a generic 500 with no internals, and is logged with them', async () => {
    const r = await t.app.inject({ url: '/api/v1/test/unknown', headers: auth });
    assert.equal(r.statusCode, 500);
    assert.deepEqual(r.json(), {
      error: {
        code: 'internal',
        message: 'internal error: the server log has the details',
        hint: 'report it with the server log',
      },
    });
    assert.ok(!r.body.includes('secret'));
    assert.ok(t.logs.some((l) => l.includes('secret internals') && JSON.parse(l).level === 50));
  });

  it('a VmlabError: kind → status, body {code, message, hint}', async () => {
    const c = await t.app.inject({ url: '/api/v1/test/conflict', headers: auth });
    assert.equal(c.statusCode, 409);
    assert.deepEqual(c.json(), { error: { code: 'busy_thing', message: 'the thing is busy', hint: 'wait' } });
    const f = await t.app.inject({ url: '/api/v1/test/failure', headers: auth });
    assert.equal(f.statusCode, 500);
    assert.deepEqual(f.json(), { error: { code: 'download_failed', message: 'download of x failed: HTTP 503' } });
  });

  it('404 for an unknown route and an unknown thing', async () => {
    const r = await t.app.inject({ url: '/api/v1/nothing-here', headers: auth });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error.code, 'route_not_found');
    const j = await t.app.inject({ url: '/api/v1/jobs/nope', headers: auth });
    assert.equal(j.statusCode, 404);
    assert.equal(j.json().error.code, 'job_not_found');
  });

  it('malformed JSON is 400; a wrong content type is 415', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"url": ',
    });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error.code, 'malformed_request');
    const ct = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: { ...auth, 'content-type': 'application/xml' },
      payload: '<x/>',
    });
    assert.equal(ct.statusCode, 415);
    assert.equal(ct.json().error.code, 'unsupported_media_type');
  });

  it('a body that fails its schema is 422 with each problem at its JSON path', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: { name: 'x', topology: { devices: {} }, profiles: { r1: 7 }, extra: true },
    });
    assert.equal(r.statusCode, 422);
    const e = r.json().error;
    assert.equal(e.code, 'invalid_request');
    assert.ok(Array.isArray(e.details));
    const i = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/import',
      headers: auth,
      payload: { url: 'ftp://x/y', name: '', checksum: 5 },
    });
    assert.equal(i.statusCode, 422);
    assert.deepEqual(
      i
        .json()
        .error.details.map((d: { in: string; path: string }) => `${d.in}:${d.path}`)
        .sort(),
      ['body:checksum', 'body:name', 'body:url'],
    );
    const q = await t.app.inject({ url: '/api/v1/jobs?limit=0', headers: auth });
    assert.equal(q.statusCode, 422);
    assert.deepEqual(
      q.json().error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
      [['querystring', 'limit']],
    );
    const deep = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/images/x',
      headers: auth,
      payload: { cloud_init: 'yes', colour: 'red' },
    });
    assert.equal(deep.statusCode, 422);
    assert.deepEqual(
      deep
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
      ['cloud_init', 'colour'],
    );
  });

  it('a spec that fails is 422 with file and JSON path for each problem, and nothing starts', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: {
        name: 'bad',
        topology: { devices: { r1: {} }, links: [{ a: 'r1:eth1', z: 'r9:eth1' }] },
        platforms: { platforms: {} },
        profiles: { r1: { platform: 'nope' } },
      },
    });
    assert.equal(r.statusCode, 422);
    const e = r.json().error;
    assert.equal(e.code, 'spec_invalid');
    assert.ok(e.details.length >= 1);
    for (const d of e.details) {
      assert.equal(typeof d.file, 'string');
      assert.equal(typeof d.path, 'string');
    }
    assert.ok(
      e.details.some((d: { path: string }) => /links\[0\]/.test(d.path)),
      JSON.stringify(e.details),
    );
    assert.deepEqual((await t.app.inject({ url: '/api/v1/labs', headers: auth })).json(), []);
    assert.deepEqual((await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json(), []);
  });
});
