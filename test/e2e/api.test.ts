import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { openAsBlob, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { tinyGuest } from '../helpers/tinyGuest.js';
import { connectTcp } from '../helpers/secondUser.js';

const TOKEN = 'e2e-token-0123456789abcdefghij';
const H = { authorization: `Bearer ${TOKEN}` };
const PORTS = 29400;

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Read a job's event stream to its end, as any SSE client would. */
async function follow(base: string, jobId: string): Promise<SseEvent[]> {
  const res = await fetch(`${base}/api/v1/jobs/${jobId}/events`, { headers: H });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: SseEvent[] = [];
  let buf = '';
  const dec = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
    }
  }
  return events;
}

/** A console viewer: everything received, and a way to wait for text. */
function viewer(
  url: string,
): Promise<{ ws: WebSocket; seen: () => string; waitFor: (s: string, ms?: number) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: H });
    let text = '';
    ws.on('message', (d: Buffer) => (text += d.toString('latin1')));
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        seen: () => text,
        waitFor: async (s, ms = 60_000) => {
          const end = Date.now() + ms;
          while (!text.includes(s)) {
            if (Date.now() > end)
              throw new Error(`no "${s}" on the console within ${ms} ms; saw:\n${text.slice(-2000)}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        },
      }),
    );
  });
}

/** The tiny guest's serial console asks for a login: root / vmlab. */
async function login(v: Awaited<ReturnType<typeof viewer>>): Promise<void> {
  v.ws.send(Buffer.from('\n'));
  await v.waitFor('login:');
  v.ws.send(Buffer.from('root\n'));
  await v.waitFor('Password:');
  v.ws.send(Buffer.from('vmlab\n'));
  await new Promise((r) => setTimeout(r, 1000));
}

/**
 * The whole server for real, on a real port, as a client sees it: upload a
 * qcow2, import the tiny guest and follow the job's SSE stream, deploy a
 * 2-node lab of it through the API, type into the WebSocket console from
 * two viewers, stop/start a node, delete the lab, stop the server.
 */
describe('vmlab serve, end to end', { concurrency: false }, () => {
  const home = tempHome();
  let server: ChildProcess;
  let base = '';
  let stderr = '';
  let stdout = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...H, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  let image = '';
  before(async () => {
    // The tiny guest is imported by path: its cache dir is a root the server may read (--allow-path).
    image = await tinyGuest();
    server = spawn(vmlabBin, ['serve', '--listen', '127.0.0.1:0', '--allow-path', dirname(image)], {
      env: {
        ...process.env,
        VMLAB_HOME: home,
        VMLAB_API_TOKEN: TOKEN,
        VMLAB_ACCEL: process.env.VMLAB_ACCEL ?? '',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const end = Date.now() + 20_000;
    while (!/vmlab API on (http:\/\/127\.0\.0\.1:\d+)\//.test(stderr)) {
      if (Date.now() > end || server.exitCode !== null) throw new Error(`the server did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    base = /vmlab API on (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)![1]!;
  });
  after(async () => {
    if (server.exitCode === null) {
      await fetch(`${base}/api/v1/labs/e2eapi`, { method: 'DELETE', headers: H }).catch(() => undefined);
      server.kill('SIGKILL');
    }
  });

  it('prints the login link and answers /healthz; /api/v1 needs the token', async () => {
    assert.match(stderr, new RegExp(`login link: ${base.replace(/[.]/g, '\\.')}/#token=${TOKEN}`));
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
    assert.equal((await fetch(`${base}/api/v1/images`)).status, 401);
  });

  it('uploads a qcow2 (201, hashed)', async () => {
    const file = join(home, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '1G']);
    const form = new FormData();
    form.set('name', 'blank');
    form.set('file', await openAsBlob(file), 'disk.qcow2');
    const res = await fetch(`${base}/api/v1/images/upload`, { method: 'POST', headers: H, body: form });
    const img = (await res.json()) as { name: string; status: string; virtual_size: number; actual_size: number };
    assert.equal(res.status, 201, JSON.stringify(img));
    assert.equal(img.status, 'ready');
    assert.equal(img.virtual_size, 1024 ** 3);
    assert.equal(img.actual_size, statSync(file).size);
  });

  it('imports the tiny guest as a job and follows its event stream to the end', { timeout: 900_000 }, async () => {
    const r = await api('POST', '/api/v1/images/import', { path: image, name: 'tiny' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const events = await follow(base, r.body.job_id);
    assert.ok(events.some((e) => e.event === 'progress'));
    assert.ok(events.some((e) => e.event === 'log'));
    assert.deepEqual(events.at(-1)!.event, 'end');
    assert.equal(events.at(-1)!.data.status, 'succeeded', JSON.stringify(events));
    assert.equal((await api('GET', '/api/v1/images/tiny')).body.status, 'ready');
  });

  it('deploys a 2-node lab of it through the API', { timeout: 300_000 }, async () => {
    const r = await api('POST', '/api/v1/labs', {
      name: 'e2eapi',
      topology: {
        devices: {
          r1: { interfaces: { eth1: { link: 'r2:eth1' } } },
          r2: { interfaces: { eth1: { link: 'r1:eth1' } } },
        },
        vmlab: { name: 'e2eapi', link_port_base: PORTS, console_port_base: PORTS + 10, ssh_port_base: PORTS + 20 },
      },
      platforms: {
        platforms: {
          tiny: {
            vm_image: 'tiny',
            vm_memory: 256,
            vm_cpus: 1,
            vm_nic_driver: 'virtio-net-pci',
            vm_interface_map: 'linux',
            vm_credentials: { user: 'root', pass: 'vmlab' },
            vm_boot_timeout: 180,
          },
        },
      },
      profiles: { r1: { platform: 'tiny' }, r2: { platform: 'tiny' } },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.lab, 'e2eapi');
    const events = await follow(base, r.body.job_id);
    assert.equal(events.at(-1)!.data.status, 'succeeded', JSON.stringify(events.filter((e) => e.event !== 'progress')));
    const lab = (await api('GET', '/api/v1/labs/e2eapi')).body;
    assert.equal(lab.status, 'running');
    assert.deepEqual(
      lab.nodes.map((n: { status: string }) => n.status),
      ['running', 'running'],
    );
  });

  it('two WebSocket viewers share the serial console: what one types, both see answered', {
    timeout: 120_000,
  }, async () => {
    // The server reaches the console through its owner-only unix socket: no TCP console port is open.
    const r1 = (await api('GET', '/api/v1/labs/e2eapi')).body.nodes.find((n: { node: string }) => n.node === 'r1');
    assert.deepEqual([r1.console_port, r1.console_socket], [null, join(home, 'labs', 'e2eapi', 'qemu', 'r1.console')]);
    assert.equal(await connectTcp(PORTS + 10), 'ECONNREFUSED');
    const url = `${base.replace('http', 'ws')}/api/v1/labs/e2eapi/nodes/r1/console`;
    const a = await viewer(url);
    const b = await viewer(url);
    await login(a);
    assert.match(b.seen(), /Password:/, 'the second viewer sees what the first one does');
    a.ws.send(Buffer.from('echo hi-$((40+2))\n'));
    await a.waitFor('hi-42');
    await b.waitFor('hi-42');
    b.ws.send(Buffer.from('echo from-b-$((6*7))\n'));
    await a.waitFor('from-b-42');
    b.ws.send(Buffer.from('exit\n'));
    // Meanwhile the CLI's console says who holds it instead of hanging.
    const cli = await vmlab(['console', 'r1'], { VMLAB_HOME: home });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /the serial console of r1 is held by vmlab serve \(pid \d+\)/);
    // Without the token the upgrade is refused.
    await assert.rejects(
      new Promise((resolve, reject) => {
        const w = new WebSocket(url);
        w.once('open', resolve);
        w.once('error', reject);
      }),
      /401/,
    );
    const closed = (w: WebSocket) => new Promise<number>((r) => w.once('close', (code) => r(code)));
    const ca = closed(a.ws);
    const cb = closed(b.ws);
    a.ws.close();
    b.ws.close();
    await Promise.all([ca, cb]);
  });

  it('stops and starts a node; its console comes back', { timeout: 300_000 }, async () => {
    const s = await api('POST', '/api/v1/labs/e2eapi/nodes/r2/stop', { timeout_sec: 5 });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.result, 'stopped');
    assert.equal(
      (await api('GET', '/api/v1/labs/e2eapi')).body.nodes.find((n: { node: string }) => n.node === 'r2').status,
      'stopped',
    );
    const st = await api('POST', '/api/v1/labs/e2eapi/nodes/r2/start');
    assert.equal(st.status, 200, JSON.stringify(st.body));
    assert.equal(st.body.already, false);
    const v = await viewer(`${base.replace('http', 'ws')}/api/v1/labs/e2eapi/nodes/r2/console`);
    await login(v);
    v.ws.send(Buffer.from('echo back-$((1+1))\n'));
    await v.waitFor('back-2');
    v.ws.send(Buffer.from('exit\n'));
    v.ws.close();
  });

  it('deletes the lab: no QEMU left', { timeout: 120_000 }, async () => {
    const d = await api('DELETE', '/api/v1/labs/e2eapi');
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.deepEqual(d.body.stopped.sort(), ['r1', 'r2']);
    assert.deepEqual(findQemusUnder(join(home, 'labs', 'e2eapi')), []);
    assert.equal((await api('GET', '/api/v1/labs/e2eapi')).status, 404);
  });

  it('SIGTERM closes the server; its log has one line per request and no token', async () => {
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stderr, /SIGTERM: closing the server/);
    assert.ok(!stdout.includes(TOKEN), 'the token is in the log');
    const lines = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; req?: { url: string } });
    assert.ok(lines.filter((l) => l.msg === 'request completed').length >= 10);
    assert.ok(lines.some((l) => l.req?.url === '/api/v1/images/upload'));
  });
});
