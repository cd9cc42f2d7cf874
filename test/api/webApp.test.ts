import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN, auth, testApp, type TestApp } from './fixture.js';

/** A stand-in for vite's output: index.html and one hashed asset. */
function builtApp(): string {
  const root = mkdtempSync('/tmp/vmlab-webroot-');
  mkdirSync(join(root, 'assets'));
  writeFileSync(
    join(root, 'index.html'),
    '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc.js"></script>',
  );
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  return root;
}

describe('the web app is served from the package, the API stays under /api/v1', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp({ webRoot: builtApp() });
  });
  after(() => t.app.close());

  it('answers every app route with index.html (SPA fallback), without the token', async () => {
    for (const url of ['/', '/images', '/images/local', '/jobs', '/labs', '/labs/new', '/labs/my-lab']) {
      const r = await t.app.inject({ url });
      assert.equal(r.statusCode, 200, url);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(r.body, /<div id="root">/, url);
    }
    assert.equal((await t.app.inject({ url: '/labs/a/b' })).statusCode, 404);
  });

  it('serves hashed assets for good and nothing outside assets/', async () => {
    const r = await t.app.inject({ url: '/assets/index-abc.js' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/javascript/);
    assert.match(String(r.headers['cache-control']), /immutable/);
    assert.equal((await t.app.inject({ url: '/assets/nope.js' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/assets/..%2findex.html' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/assets/../../etc/passwd' })).statusCode, 404);
  });

  it('the old login link works on any app URL: no cookie, the token moved into the fragment, other parameters kept', async () => {
    const r = await t.app.inject({ url: `/labs/x?tab=2&token=${TOKEN}` });
    assert.equal(r.statusCode, 303);
    assert.equal(r.headers.location, `/labs/x?tab=2#token=${TOKEN}`);
    assert.equal(r.headers['set-cookie'], undefined);
    // Never to another site.
    const o = await t.app.inject({ url: `//evil.example?token=${TOKEN}` });
    assert.equal(o.statusCode, 303);
    assert.equal(o.headers.location, `/#token=${TOKEN}`);
    // inject (as a browser) reads this one as naming another host: the Host check refuses it first.
    for (const url of [`/\\evil.example?token=${TOKEN}`]) {
      const o = await t.app.inject({ url });
      assert.equal(o.statusCode, 421, url);
      assert.equal(o.headers.location, undefined, url);
    }
  });

  it('a wrong login link is a page saying how to get the right one', async () => {
    const r = await t.app.inject({ url: '/images?token=wrong' });
    assert.equal(r.statusCode, 401);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(r.body, /vmlab serve/);
    assert.match(r.body, /api-token/);
    assert.equal(r.headers['set-cookie'], undefined);
  });

  it('GET /api/v1/session says whether the caller is signed in, without a 401; nothing else is open', async () => {
    assert.deepEqual((await t.app.inject({ url: '/api/v1/session' })).json(), { signed_in: false });
    assert.deepEqual((await t.app.inject({ url: '/api/v1/session', headers: { cookie: 'vmlab_token=nope' } })).json(), {
      signed_in: false,
    });
    assert.deepEqual(
      (await t.app.inject({ url: '/api/v1/session', headers: { cookie: `vmlab_token=${TOKEN}` } })).json(),
      { signed_in: false },
      'a cookie is no login',
    );
    assert.deepEqual((await t.app.inject({ url: '/api/v1/session', headers: auth })).json(), { signed_in: true });
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/session' })).statusCode, 401);
    assert.equal((await t.app.inject({ url: '/api/v1/session/x' })).statusCode, 401);
    assert.equal((await t.app.inject({ url: '/api/v1/sessions' })).statusCode, 401);
  });

  it('the catalog says where a pull is checked from (the "verified" badge)', async () => {
    const r = await t.app.inject({ url: '/api/v1/catalog', headers: auth });
    const entries = r.json() as Array<{ id: string; checksum?: { url: string; style: string } }>;
    assert.ok(entries.length > 0);
    assert.ok(
      entries.every((e) => e.checksum && /^https?:\/\//.test(e.checksum.url)),
      JSON.stringify(entries[0]),
    );
  });
});

describe('without a built web app', () => {
  it('/ says how to build it', async () => {
    const t = await testApp({ webRoot: mkdtempSync('/tmp/vmlab-noweb-') });
    const r = await t.app.inject({ url: '/images' });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /npm run build/);
    await t.app.close();
  });
});
