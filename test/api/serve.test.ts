import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { get } from 'node:https';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseListen } from '../../src/cli/commands/serve.js';
import { JobStore } from '../../src/jobs/jobStore.js';
import { openStore, storePath } from '../../src/store/database.js';
import { tempHome, vmlabBin } from '../helpers/cli.js';
import { serveDir } from '../helpers/fileServer.js';
import { qcow2, tmp } from './fixture.js';

const TOKEN = 'serve-test-token-0123456789';

/** `vmlab serve` as a process: resolves once its banner names the address. */
async function serve(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{
  child: ChildProcess;
  base: string;
  err: () => string;
  out: () => string;
  stop: () => Promise<number | null>;
}> {
  const child = spawn(vmlabBin, ['serve', ...args], {
    env: { ...process.env, VMLAB_HOME: tempHome(), VMLAB_API_TOKEN: TOKEN, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 20_000;
  const re = /vmlab API on (https?:\/\/\S+?)\//;
  while (!re.test(err)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`vmlab serve did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise<number | null>((r) => {
      if (child.exitCode !== null) return r(child.exitCode);
      child.once('exit', (c) => r(c));
      child.kill('SIGTERM');
    });
  return { child, base: re.exec(err)![1]!, err: () => err, out: () => out, stop };
}

describe('vmlab serve', () => {
  const running: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const s of running) await s();
  });

  it('--listen takes host:port, [v6]:port or a port; anything else is refused', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
    assert.deepEqual(parseListen('8081'), { host: '127.0.0.1', port: 8081 });
    assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
    for (const bad of ['', 'localhost', '1.2.3.4:70000', 'a b:1'])
      assert.throws(() => parseListen(bad), { code: 'bad_option' }, bad);
  });

  it('bad flags exit 2 with the rule', async () => {
    const r = execFileSyncResult(['serve', '--max-upload', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-upload: expected a whole number of GiB/);
    const t = execFileSyncResult(['serve', '--tls-cert', '/nope.pem']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /--tls-cert and --tls-key go together/);
  });

  it('on a non-loopback address it warns that the API is reachable from the network; with TLS it serves HTTPS and sets no cookie', async () => {
    const dir = tmp();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const s = await serve([
      '--listen',
      '0.0.0.0:0',
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
    ]);
    running.push(s.stop);
    assert.match(s.err(), /warning: listening on 0\.0\.0\.0: the API is reachable from the network\n/);
    assert.match(s.base, /^https:\/\/0\.0\.0\.0:\d+$/);
    const port = Number(s.base.split(':').at(-1));
    assert.match(s.err(), new RegExp(`login link: https://127\\.0\\.0\\.1:${port}/#token=${TOKEN}\n`));
    const res = await new Promise<{ status: number; location: string; cookie: unknown }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: `/?token=${TOKEN}`, ca: readFileSync(join(dir, 'cert.pem')) }, (r) => {
        r.resume();
        resolve({ status: r.statusCode!, location: String(r.headers.location), cookie: r.headers['set-cookie'] });
      }).on('error', reject);
    });
    assert.equal(res.status, 303);
    assert.equal(res.location, `/#token=${TOKEN}`);
    assert.equal(res.cookie, undefined);
    assert.equal(await s.stop(), 0);

    const plain = await serve(['--listen', '0.0.0.0:0']);
    running.push(plain.stop);
    assert.match(plain.err(), /reachable from the network without TLS/);
    const local = await serve(['--listen', '127.0.0.1:0']);
    running.push(local.stop);
    assert.doesNotMatch(local.err(), /warning/);
  });

  it('DNS rebinding: a Host that is not this server is 421, on a route without a token and on a WebSocket upgrade', async () => {
    const s = await serve(['--listen', '127.0.0.1:0', '--host-name', 'lab.example.org']);
    running.push(s.stop);
    const port = Number(s.base.split(':').at(-1));
    assert.match(s.err(), /host names: lab\.example\.org\n/);
    const at = (host: string, path = '/healthz', headers: Record<string, string> = {}) =>
      raw(port, path, { host, ...headers });
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}`,
      `localhost.evil.example:${port}`,
      '',
    ]) {
      const r = await at(host);
      assert.equal(r.status, 421, host);
      assert.equal(JSON.parse(r.body).error.code, 'host_not_allowed', host);
    }
    const page = await at(`evil.example:${port}`, '/');
    assert.equal(page.status, 421, 'the web app too');
    const session = await at(`evil.example:${port}`, '/api/v1/session');
    assert.equal(session.status, 421);
    // The upgrade is refused before it happens, even with the token.
    const ws = await at(`evil.example:${port}`, '/api/v1/labs/x/nodes/y/console', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      authorization: `Bearer ${TOKEN}`,
      origin: `http://evil.example:${port}`,
    });
    assert.equal(ws.status, 421);
    const tok = await at(`evil.example:${port}`, `/?token=${TOKEN}`);
    assert.equal(tok.status, 421, 'no login link answered for a foreign name');
    assert.ok(!tok.body.includes(TOKEN));
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      'lab.example.org',
      'lab.example.org:443',
    ])
      assert.equal((await at(host)).status, 200, host);
    // The served page and the login link set no cookie.
    const index = await at(`127.0.0.1:${port}`, '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers['set-cookie'], undefined);
    const login = await at(`127.0.0.1:${port}`, `/?token=${TOKEN}`);
    assert.equal(login.status, 303);
    assert.equal(login.headers['set-cookie'], undefined);
    // A ticket, then the WebSocket with it: past auth (404: no such lab), with the token nowhere in a cookie or the URL.
    const ticket = (await (
      await fetch(`${s.base.replace('0.0.0.0', '127.0.0.1')}/api/v1/tickets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { ticket: string };
    const up = await at(`127.0.0.1:${port}`, `/api/v1/labs/x/nodes/y/console?ticket=${ticket.ticket}`, {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      origin: `http://127.0.0.1:${port}`,
    });
    assert.equal(up.status, 404, up.body);
    assert.equal(JSON.parse(up.body).error.code, 'lab_not_found');
  });

  it('--allow-path: paths in requests stay in VMLAB_HOME and the allowed dirs; a missing dir is refused at start', async () => {
    const allowed = tmp();
    const outside = tmp();
    const inside = qcow2(allowed, 'in.qcow2');
    const secret = join(outside, 'secret.qcow2');
    writeFileSync(secret, 'not yours');
    const s = await serve(['--listen', '127.0.0.1:0', '--allow-path', allowed]);
    running.push(s.stop);
    assert.match(s.err(), new RegExp(`paths in requests: \\S+, ${allowed.replace(/[.]/g, '\\.')}\n`));
    const post = (path: string, body: unknown) =>
      fetch(`${s.base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post('/api/v1/images/import', { path: inside, name: 'in' });
    assert.equal(ok.status, 202, await ok.text());
    const no = await post('/api/v1/images/import', { path: secret, name: 'secret' });
    assert.equal(no.status, 403);
    const e = ((await no.json()) as { error: { code: string; message: string; hint: string } }).error;
    assert.equal(e.code, 'path_not_allowed');
    assert.match(
      e.message,
      new RegExp(
        `^path: ${secret.replace(/[.]/g, '\\.')} is outside the directories this server may use: .*${allowed.replace(/[.]/g, '\\.')}`,
      ),
    );
    assert.match(e.hint, /--allow-path/);
    const missing = execFileSyncResult(['serve', '--listen', '127.0.0.1:0', '--allow-path', join(outside, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--allow-path .*nope: no such directory/);
  });

  it('marks jobs a dead process left running as failed when it starts', async () => {
    const home = tempHome();
    const db = openStore(storePath(home));
    const jobs = new JobStore(db);
    const job = jobs.create('download', 'debian-12');
    jobs.start(job.id);
    const dead = spawnSync('true').pid!;
    db.prepare('UPDATE jobs SET pid = ? WHERE id = ?').run(dead, job.id);
    db.close();
    const s = await serve(['--listen', '127.0.0.1:0'], { VMLAB_HOME: home });
    running.push(s.stop);
    assert.match(s.err(), /1 job\(s\) left running by a dead process marked failed/);
    const got = (await (
      await fetch(`${s.base}/api/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { status: string; error: string };
    assert.equal(got.status, 'failed');
    assert.match(got.error, new RegExp(`interrupted: its process \\(pid ${dead}\\) is gone`));
  });

  it('with AUTO_DOWNLOAD_IMAGES=true it answers at once, pulls the missing defaults as jobs in the background and logs a summary; a failed one does not stop it', {
    timeout: 60_000,
  }, async () => {
    const files = tmp();
    const img = qcow2(files, 'deb.qcow2', '64M');
    const sum = createHash('sha256').update(readFileSync(img)).digest('hex');
    writeFileSync(join(files, 'SHA256SUMS'), `${sum}  deb.qcow2\n`);
    const http = await serveDir(files, { bytesPerSec: { '/deb.qcow2': 200 * 1024 } });
    running.push(() => http.close());
    const catalog = join(files, 'catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({
        images: [
          { id: 'debian-12', url: `${http.url}/deb.qcow2`, checksum: { url: `${http.url}/SHA256SUMS`, style: 'gnu' } },
          {
            id: 'ubuntu-24.04',
            url: `${http.url}/gone.qcow2`,
            checksum: { url: `${http.url}/SHA256SUMS`, style: 'gnu' },
          },
        ],
      }),
    );
    const s = await serve(['--listen', '127.0.0.1:0'], {
      AUTO_DOWNLOAD_IMAGES: 'true',
      VMLAB_DEFAULT_IMAGES: 'debian-12,ubuntu-24.04',
      VMLAB_CATALOG: catalog,
    });
    running.push(s.stop);
    const H = { authorization: `Bearer ${TOKEN}` };
    assert.deepEqual(await (await fetch(`${s.base}/healthz`)).json(), { ok: true });
    // The pull is under way while the server answers.
    let jobs: Array<{ id: string; kind: string; params: string; status: string }> = [];
    const isDeb = (j: (typeof jobs)[number]) => j.kind === 'download' && j.params.includes('deb.qcow2');
    for (let i = 0; i < 100 && !jobs.some((j) => isDeb(j) && j.status === 'running'); i++) {
      jobs = (await (await fetch(`${s.base}/api/v1/jobs`, { headers: H })).json()) as typeof jobs;
      await new Promise((r) => setTimeout(r, 50));
    }
    const pull = jobs.find((j) => isDeb(j) && j.status === 'running');
    assert.ok(pull, JSON.stringify(jobs));
    // Its event stream: progress with bytes, total, speed and ETA, then the outcome.
    const stream = await (await fetch(`${s.base}/api/v1/jobs/${pull.id}/events`, { headers: H })).text();
    const events = stream
      .split('\n\n')
      .filter((f) => f.startsWith('id:'))
      .map((f) => ({ event: /event: (\w+)/.exec(f)![1], data: JSON.parse(/data: (.*)/.exec(f)![1]!) }));
    const size = readFileSync(img).length;
    const moving = events.filter((e) => e.event === 'progress' && e.data.bytes > 0 && e.data.bytes < size);
    assert.ok(moving.length > 0, stream);
    for (const e of moving) {
      assert.equal(e.data.total, size);
      assert.ok(e.data.bytes_per_sec > 0);
      assert.equal(typeof e.data.eta_sec, 'number');
    }
    assert.deepEqual([events.at(-1)!.event, events.at(-1)!.data.status], ['end', 'succeeded']);
    const end = Date.now() + 50_000;
    while (!s.out().includes('default images:')) {
      if (Date.now() > end) throw new Error(`no summary in the log:\n${s.out()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const summary = s
      .out()
      .split('\n')
      .find((l) => l.includes('default images:'))!;
    const line = JSON.parse(summary) as { msg: string; ok: string[]; failed: string[] };
    assert.equal(line.msg, 'default images: 1 of 2 ready');
    assert.deepEqual(line.ok, ['debian-12']);
    assert.match(line.failed[0]!, /^ubuntu-24\.04: /);
    assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
    const images = (await (await fetch(`${s.base}/api/v1/images`, { headers: H })).json()) as Array<{
      name: string;
      status: string;
    }>;
    assert.ok(images.some((i) => i.status === 'ready'));
  });
});

/** One HTTP/1.1 request with exactly these headers (Host included: fetch will not send a foreign one). */
function raw(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, setHost: false, agent: false }, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body }));
    });
    req.on('upgrade', (r, socket) => {
      socket.destroy();
      resolve({ status: r.statusCode!, headers: r.headers, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

function execFileSyncResult(args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(vmlabBin, args, {
      env: { ...process.env, VMLAB_HOME: tempHome(), NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { code: e.status, stderr: e.stderr.toString() };
  }
}
