import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { ConsoleHub } from '../../src/api/consoleHub.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const silent = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  fatal() {},
  child() {
    return silent;
  },
  level: 'silent',
  silent() {},
} as never;

/**
 * The hub against a TCP server that behaves like QEMU's chardev socket
 * (one client at a time: the next waits until the first is gone), with
 * real WebSockets in front: one connection for every viewer, opened for
 * the first and closed with the last.
 */
describe('ConsoleHub', () => {
  let qemu: Server;
  let port: number;
  const clients: Socket[] = [];
  let accepted = 0;
  let wss: WebSocketServer;
  let hub: ConsoleHub;
  /** A viewer: the client end, and what it has received. */
  const view = async (key = 'lab/r1') => {
    const server = new Promise<WebSocket>((r) => wss.once('connection', (s) => r(s)));
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    let seen = '';
    ws.on('message', (d: Buffer) => (seen += d.toString()));
    await new Promise((r) => ws.once('open', r));
    await hub.attach(key, { host: '127.0.0.1', port }, await server);
    return { ws, seen: () => seen };
  };

  before(async () => {
    qemu = createServer((s) => {
      accepted++;
      clients.push(s);
      s.on('data', (d) => s.write(d.toString().toUpperCase()));
      s.on('close', () => clients.splice(clients.indexOf(s), 1));
    });
    qemu.maxConnections = 1;
    await new Promise<void>((r) => qemu.listen(0, '127.0.0.1', r));
    port = (qemu.address() as { port: number }).port;
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    hub = new ConsoleHub(silent);
  });
  after(() => {
    hub.closeAll();
    wss.close();
    qemu.close();
  });

  it('fans one connection out to every viewer, both ways', async () => {
    const a = await view();
    const b = await view();
    assert.equal(accepted, 1);
    assert.equal(hub.viewers('lab/r1'), 2);
    a.ws.send(Buffer.from('from-a'));
    b.ws.send(Buffer.from('from-b'));
    const both = (t: string) => t.includes('FROM-A') && t.includes('FROM-B');
    for (let i = 0; i < 100 && !(both(a.seen()) && both(b.seen())); i++) await sleep(20);
    assert.ok(both(a.seen()), a.seen());
    assert.ok(both(b.seen()), b.seen());

    // The connection stays while one viewer is left, and goes with the last.
    a.ws.close();
    await sleep(100);
    assert.equal(clients.length, 1);
    b.ws.close();
    for (let i = 0; i < 100 && clients.length > 0; i++) await sleep(20);
    assert.equal(clients.length, 0);
    assert.equal(hub.viewers('lab/r1'), 0);
  });

  it('opens a fresh connection for the next viewer; the console closing (node stopped) closes every viewer with 1011', async () => {
    const c = await view();
    assert.equal(accepted, 2);
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    clients[0]!.destroy();
    assert.equal(await closed, 1011);
  });

  it('closeNode tells its viewers and lets the connection go; an unreachable console rejects the viewer', async () => {
    const d = await view('lab/r2');
    const closed = new Promise<number>((r) => d.ws.once('close', (code) => r(code)));
    hub.closeNode('lab/r2');
    assert.equal(await closed, 1001);
    for (let i = 0; i < 100 && clients.length > 0; i++) await sleep(20);
    assert.equal(clients.length, 0);

    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise((r) => dead.close(r));
    const server = new Promise<WebSocket>((r) => wss.once('connection', (s) => r(s)));
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    await new Promise((r) => ws.once('open', r));
    await assert.rejects(hub.attach('lab/r3', { host: '127.0.0.1', port: deadPort }, await server), /ECONNREFUSED/);
    assert.equal(hub.viewers('lab/r3'), 0);
    ws.close();
  });

  it("reaches a console on a unix socket (the default: QEMU serves it in the lab's 0700 qemu/ dir)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-hub-'));
    const path = join(dir, 'r4.console');
    const unix = createServer((s) => s.on('data', (d) => s.write(`unix:${d.toString()}`)));
    await new Promise<void>((r) => unix.listen(path, r));
    try {
      const server = new Promise<WebSocket>((r) => wss.once('connection', (s) => r(s)));
      const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
      let seen = '';
      ws.on('message', (d: Buffer) => (seen += d.toString()));
      await new Promise((r) => ws.once('open', r));
      await hub.attach('lab/r4', { path }, await server);
      ws.send(Buffer.from('hello'));
      for (let i = 0; i < 100 && !seen.includes('unix:hello'); i++) await sleep(20);
      assert.equal(seen, 'unix:hello');
      ws.close();
    } finally {
      await new Promise((r) => unix.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
