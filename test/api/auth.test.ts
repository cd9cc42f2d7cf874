import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadToken, sameToken } from '../../src/api/token.js';
import { loadSettings } from '../../src/host/settings.js';
import { TOKEN, auth, testApp, type TestApp } from './fixture.js';

describe('the API token', () => {
  it('is created on first start (0600) and the same on the next; VMLAB_API_TOKEN overrides it', () => {
    const root = join(mkdtempSync('/tmp/vmlab-tok-'), 'home');
    const first = loadToken(root, loadSettings({}));
    assert.equal(first.source, 'created');
    assert.ok(first.token.length >= 40);
    assert.equal(statSync(join(root, 'api-token')).mode & 0o777, 0o600);
    const again = loadToken(root, loadSettings({}));
    assert.deepEqual(again, { token: first.token, source: 'file' });
    assert.deepEqual(loadToken(root, loadSettings({ VMLAB_API_TOKEN: 'from-the-env-1234' })), {
      token: 'from-the-env-1234',
      source: 'env',
    });
  });

  it('a token file anyone could read is made private again; a short one is refused', () => {
    const root = mkdtempSync('/tmp/vmlab-tok-');
    writeFileSync(join(root, 'api-token'), 'a-long-enough-token-value\n', { mode: 0o644 });
    assert.equal(loadToken(root, loadSettings({})).token, 'a-long-enough-token-value');
    assert.equal(statSync(join(root, 'api-token')).mode & 0o777, 0o600);
    writeFileSync(join(root, 'api-token'), 'short\n');
    assert.throws(() => loadToken(root, loadSettings({})), { code: 'token_unusable' });
  });

  it('compares whole tokens', () => {
    assert.equal(sameToken('abc', 'abc'), true);
    assert.equal(sameToken('abc', 'abd'), false);
    assert.equal(sameToken('abc', 'abcd'), false);
    assert.equal(sameToken('abc', ''), false);
  });
});

describe('auth on every /api/v1 route', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.app.close());

  it('/healthz needs no token', async () => {
    const r = await t.app.inject({ url: '/healthz' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { ok: true });
  });

  for (const [what, headers] of [
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token-0123456789abcdef' }],
    ['a token one character short', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['a wrong cookie', { cookie: 'vmlab_token=nope' }],
  ] as const) {
    it(`401 with ${what}`, async () => {
      for (const [method, url] of [
        ['GET', '/api/v1/images'],
        ['POST', '/api/v1/images/scan'],
        ['GET', '/api/v1/openapi.json'],
        ['GET', '/api/v1/labs/x/nodes/y/console'],
        ['GET', '/api/v1/nope'],
      ] as const) {
        const r = await t.app.inject({ method, url, headers });
        assert.equal(r.statusCode, 401, `${method} ${url}`);
        assert.equal(r.json().error.code, 'unauthorized');
        assert.match(r.json().error.hint, /Bearer/);
      }
    });
  }

  it('a Bearer token is let in', async () => {
    const r = await t.app.inject({ url: '/api/v1/images', headers: auth });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), []);
  });

  it('the token only in a cookie (the old login) is refused: 401, on reads, writes and the console', async () => {
    // What a cookie for 127.0.0.1 would be: sent by the browser to every local port, so never a credential.
    const cookie = `vmlab_token=${TOKEN}`;
    for (const [method, url] of [
      ['GET', '/api/v1/jobs'],
      ['POST', '/api/v1/images/scan'],
      ['GET', '/api/v1/labs/x/nodes/y/console'],
    ] as const) {
      const r = await t.app.inject({
        method,
        url,
        headers: {
          cookie,
          origin: 'http://localhost:80',
          ...(url.endsWith('console') ? { connection: 'upgrade', upgrade: 'websocket' } : {}),
        },
      });
      assert.equal(r.statusCode, 401, `${method} ${url}`);
      assert.equal(r.json().error.code, 'unauthorized');
    }
    assert.deepEqual((await t.app.inject({ url: '/api/v1/session', headers: { cookie } })).json(), {
      signed_in: false,
    });
  });

  it('a login cookie left by an older version is expired, not read; a request without one gets no Set-Cookie', async () => {
    for (const url of ['/', '/images', '/api/v1/session', '/api/v1/jobs']) {
      const r = await t.app.inject({ url, headers: { cookie: `other=1; vmlab_token=${TOKEN}` } });
      assert.equal(r.headers['set-cookie'], 'vmlab_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict', url);
      const clean = await t.app.inject({ url, headers: { ...auth, cookie: 'other=1' } });
      assert.equal(clean.headers['set-cookie'], undefined, url);
    }
  });

  it('the old ?token= login link moves the token into the fragment and sets no cookie; a wrong one is 401', async () => {
    const bad = await t.app.inject({ url: '/?token=wrong' });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.headers['set-cookie'], undefined);
    const r = await t.app.inject({ url: `/?token=${TOKEN}` });
    assert.equal(r.statusCode, 303);
    assert.equal(r.headers.location, `/#token=${TOKEN}`);
    assert.equal(r.headers['set-cookie'], undefined);
  });

  it('a ticket (got with the token) opens one GET within 30 s, once; not a POST, not from a foreign Origin', async () => {
    const get = async () =>
      (await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: auth })).json() as {
        ticket: string;
        expires_in_ms: number;
      };
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/tickets' })).statusCode,
      401,
      'a ticket needs the token',
    );
    assert.equal(
      (await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: { cookie: `vmlab_token=${TOKEN}` } }))
        .statusCode,
      401,
    );
    const a = await get();
    assert.equal(a.expires_in_ms, 30_000);
    assert.equal((await t.app.inject({ url: `/api/v1/jobs?ticket=${a.ticket}` })).statusCode, 200);
    assert.equal((await t.app.inject({ url: `/api/v1/jobs?ticket=${a.ticket}` })).statusCode, 401, 'spent');
    const b = await get();
    assert.equal(
      (await t.app.inject({ method: 'POST', url: `/api/v1/images/scan?ticket=${b.ticket}` })).statusCode,
      401,
      'GET only',
    );
    assert.equal(
      (await t.app.inject({ url: `/api/v1/jobs?ticket=${b.ticket}` })).statusCode,
      401,
      'spent by the refused POST',
    );
    const c = await get();
    const ws = await t.app.inject({
      url: `/api/v1/labs/x/nodes/y/console?ticket=${c.ticket}`,
      headers: { connection: 'upgrade', upgrade: 'websocket', origin: 'http://evil.example' },
    });
    assert.equal(ws.statusCode, 403);
    assert.equal(ws.json().error.code, 'cross_origin');
    const d = await get();
    const same = await t.app.inject({
      url: `/api/v1/jobs?ticket=${d.ticket}`,
      headers: { origin: 'http://localhost:80' },
    });
    assert.equal(same.statusCode, 200);
    assert.equal((await t.app.inject({ url: '/api/v1/jobs?ticket=made-up-0123456789abcdef' })).statusCode, 401);
  });

  it('a ticket expires after 30 s', async () => {
    const { Tickets } = await import('../../src/api/tickets.js');
    let now = 1_000;
    const tickets = new Tickets(() => now);
    const x = tickets.issue().ticket;
    const y = tickets.issue().ticket;
    now += 30_000;
    assert.equal(tickets.redeem(x), true);
    now += 1;
    assert.equal(tickets.redeem(y), false);
  });

  it('logs one line per request and never the token, the cookie, ?token= or ?ticket=', async () => {
    const before = t.logs.length;
    await t.app.inject({ url: `/?token=${TOKEN}` });
    await t.app.inject({ url: '/api/v1/images', headers: { ...auth, cookie: `vmlab_token=${TOKEN}` } });
    await t.app.inject({ url: '/api/v1/images', headers: { authorization: 'Bearer a-wrong-password-token' } });
    const lines = t.logs.slice(before);
    assert.equal(lines.length, 3, lines.join('\n'));
    for (const l of lines) assert.equal(JSON.parse(l).msg, 'request completed');
    assert.match(lines[0]!, /"url":"\/\?token=\[REDACTED\]"/);
    const all = t.logs.join('\n');
    assert.ok(!all.includes(TOKEN), 'the token is in the log');
    assert.ok(!all.includes('a-wrong-password-token'), 'a wrong token is in the log');
    assert.deepEqual(JSON.parse(lines[1]!).res, { statusCode: 200 });
    const { ticket } = (await t.app.inject({ method: 'POST', url: '/api/v1/tickets', headers: auth })).json() as {
      ticket: string;
    };
    await t.app.inject({ url: `/api/v1/jobs?ticket=${ticket}` });
    assert.ok(!t.logs.join('\n').includes(ticket), 'a ticket is in the log');
  });
});
