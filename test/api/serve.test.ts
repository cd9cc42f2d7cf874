import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
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
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; base: string; err: () => string; out: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(vmlabBin, ['serve', ...args], { env: { ...process.env, VMLAB_HOME: tempHome(), VMLAB_API_TOKEN: TOKEN, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const stop = () => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : (child.once('exit', (c) => r(c)), child.kill('SIGTERM'))));
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
    for (const bad of ['', 'localhost', '1.2.3.4:70000', 'a b:1']) assert.throws(() => parseListen(bad), { code: 'bad_option' }, bad);
  });

  it('bad flags exit 2 with the rule', async () => {
    const r = execFileSyncResult(['serve', '--max-upload', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-upload: expected a whole number of GiB/);
    const t = execFileSyncResult(['serve', '--tls-cert', '/nope.pem']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /--tls-cert and --tls-key go together/);
  });

  it('on a non-loopback address it warns that the API is reachable from the network; with TLS it serves HTTPS and the cookie is Secure', async () => {
    const dir = tmp();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const s = await serve(['--listen', '0.0.0.0:0', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
    running.push(s.stop);
    assert.match(s.err(), /warning: listening on 0\.0\.0\.0: the API is reachable from the network\n/);
    assert.match(s.base, /^https:\/\/0\.0\.0\.0:\d+$/);
    const port = Number(s.base.split(':').at(-1));
    assert.match(s.err(), new RegExp(`login link: https://127\\.0\\.0\\.1:${port}/\\?token=${TOKEN}`));
    const res = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: `/?token=${TOKEN}`, ca: readFileSync(join(dir, 'cert.pem')) }, (r) => {
        r.resume();
        resolve({ status: r.statusCode!, cookie: String(r.headers['set-cookie']) });
      }).on('error', reject);
    });
    assert.equal(res.status, 303);
    assert.match(res.cookie, /; HttpOnly; SameSite=Strict; Secure$/);
    assert.equal(await s.stop(), 0);

    const plain = await serve(['--listen', '0.0.0.0:0']);
    running.push(plain.stop);
    assert.match(plain.err(), /reachable from the network without TLS/);
    const local = await serve(['--listen', '127.0.0.1:0']);
    running.push(local.stop);
    assert.doesNotMatch(local.err(), /warning/);
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
    const got = (await (await fetch(`${s.base}/api/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { status: string; error: string };
    assert.equal(got.status, 'failed');
    assert.match(got.error, new RegExp(`interrupted: its process \\(pid ${dead}\\) is gone`));
  });

  it('with AUTO_DOWNLOAD_IMAGES=true it answers at once, pulls the missing defaults as jobs in the background and logs a summary; a failed one does not stop it', { timeout: 60_000 }, async () => {
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
          { id: 'ubuntu-24.04', url: `${http.url}/gone.qcow2`, checksum: { url: `${http.url}/SHA256SUMS`, style: 'gnu' } },
        ],
      }),
    );
    const s = await serve(['--listen', '127.0.0.1:0'], { AUTO_DOWNLOAD_IMAGES: 'true', VMLAB_DEFAULT_IMAGES: 'debian-12,ubuntu-24.04', VMLAB_CATALOG: catalog });
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
    const events = stream.split('\n\n').filter((f) => f.startsWith('id:')).map((f) => ({ event: /event: (\w+)/.exec(f)![1], data: JSON.parse(/data: (.*)/.exec(f)![1]!) }));
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
    const summary = s.out().split('\n').find((l) => l.includes('default images:'))!;
    const line = JSON.parse(summary) as { msg: string; ok: string[]; failed: string[] };
    assert.equal(line.msg, 'default images: 1 of 2 ready');
    assert.deepEqual(line.ok, ['debian-12']);
    assert.match(line.failed[0]!, /^ubuntu-24\.04: /);
    assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
    const images = (await (await fetch(`${s.base}/api/v1/images`, { headers: H })).json()) as Array<{ name: string; status: string }>;
    assert.ok(images.some((i) => i.status === 'ready'));
  });
});

function execFileSyncResult(args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(vmlabBin, args, { env: { ...process.env, VMLAB_HOME: tempHome(), NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { code: e.status, stderr: e.stderr.toString() };
  }
}
