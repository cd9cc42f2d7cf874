import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NodePlan } from '../../../src/plan/labPlan.js';
import { relayFiles } from '../../../src/plan/labFiles.js';
import { scanLabRelays, startRelay } from '../../../src/lab/node/sshRelay.js';
import { isAlive, waitForExit } from '../../../src/host/processes.js';
import { VmlabError } from '../../../src/errors/vmlabError.js';
import { forwardedPort } from '../../../src/qemu/mgmtNet.js';

/**
 * The relay for real: its own process, real sockets. A stand-in "QEMU" (a
 * process named qemu-system-… whose command line names the node's QMP
 * path) plays the node, a local server plays QEMU's SSH forward on
 * 127.0.0.1, and the relay listens on 127.0.0.2 at the same port.
 */
const lab = mkdtempSync(join(tmpdir(), 'vmlab-relay-'));
mkdirSync(join(lab, 'qemu'));
mkdirSync(join(lab, 'logs'));
const qmp = join(lab, 'qemu', 'r1.qmp');
writeFileSync(qmp, '');
const node = { name: 'r1', files: { qmp } } as unknown as NodePlan;
const relay = { listen: '127.0.0.2', ...relayFiles(lab, 'r1') };
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
  for (const pid of scanLabRelays(lab)) process.kill(pid, 'SIGKILL');
  rmSync(lab, { recursive: true, force: true });
});

const fakeQemu = () => spawn('bash', ['-c', 'exec -a qemu-system-x86_64 tail -f "$0"', qmp], { stdio: 'ignore' });

/** QEMU's forward: says who connected, then echoes. */
async function forward(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((s) => {
    seen.push(s.remoteAddress ?? '?');
    s.pipe(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen };
}

function roundTrip(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ host, port }, () => c.write(text));
    let got = '';
    c.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        c.destroy();
        resolve(got);
      }
    });
    c.on('error', reject);
  });
}

describe('the SSH relay of a multi-host node', () => {
  it('reads the port QEMU chose for its forward from `info usernet`', () => {
    const info =
      'Hub -1 (mgmt):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n' +
      '  TCP[HOST_FORWARD]   8       127.0.0.1 40823       10.0.2.15    22     0     0\r\n';
    assert.equal(forwardedPort(info), 40823);
    assert.equal(forwardedPort(info.replace('127.0.0.1', '10.231.0.1')), undefined);
    assert.equal(forwardedPort('Hub -1 (mgmt):\r\n'), undefined);
  });

  it('hands connections on the host address to QEMU from 127.0.0.1, and quits when its QEMU is killed', async () => {
    const fwd = await forward();
    const qemu = fakeQemu();
    await new Promise((r) => setTimeout(r, 200));
    await startRelay(node, relay, { port: fwd.port, target: fwd.port }, qemu.pid!, () => undefined);
    assert.equal(await roundTrip('127.0.0.2', fwd.port, 'SSH-2.0-test\r\n'), 'SSH-2.0-test\r\n');
    assert.deepEqual(fwd.seen, ['127.0.0.1']); // what QEMU's slirp shows the guest as 10.0.2.2
    const [pid] = scanLabRelays(lab);
    assert.ok(pid && isAlive(pid));
    qemu.kill('SIGKILL');
    assert.equal(await waitForExit(pid, 3000), true, 'the relay outlived its QEMU');
    assert.equal(existsSync(relay.pidFile), false);
    await assert.rejects(roundTrip('127.0.0.2', fwd.port, 'x'), /ECONNREFUSED/);
  });

  it('fails naming the address when the port is taken there, leaving no process', async () => {
    const fwd = await forward();
    const squatter = createServer();
    servers.push(squatter);
    await new Promise<void>((r) => squatter.listen(fwd.port, '127.0.0.2', r));
    const qemu = fakeQemu();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const err = await startRelay(node, relay, { port: fwd.port, target: fwd.port }, qemu.pid!, () => undefined).then(
        () => assert.fail('started on a taken port'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof VmlabError);
      assert.match(err.message, new RegExp(`SSH relay of r1 did not start on 127\\.0\\.0\\.2:${fwd.port}`));
      assert.match(err.message, /EADDRINUSE/);
      assert.deepEqual(scanLabRelays(lab), []);
    } finally {
      qemu.kill('SIGKILL');
    }
  });
});
