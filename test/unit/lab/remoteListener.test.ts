import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { waitForRemoteListeners } from '../../../src/lab/node/remoteListener.js';
import type { NodePlan } from '../../../src/plan/labPlan.js';
import { LabError } from '../../../src/lab/labError.js';

const PORT = 31950;

/** A node whose NIC 1 connects to a listener on host b (only the fields the wait reads). */
const node = (port: number) =>
  ({
    name: 'r2',
    bootTimeoutS: 1,
    nics: [
      { index: 0, iface: 'mgmt', mac: '', backend: { kind: 'user', sshPort: 1 } },
      {
        index: 1,
        iface: 'eth1',
        mac: '',
        backend: { kind: 'tcp-connect', host: '127.0.0.1', port },
        peer: 'r3:eth2',
        peerHost: 'b',
      },
    ],
  }) as unknown as NodePlan;

const listen = (port: number) =>
  new Promise<Server>((resolve) => {
    const s = createServer((c) => c.destroy());
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('waiting for a listener on another host', () => {
  it('retries until the peer listens, then returns', async () => {
    const logs: string[] = [];
    let server: Server | undefined;
    const late = setTimeout(() => void listen(PORT).then((s) => (server = s)), 1200);
    const t0 = Date.now();
    try {
      await waitForRemoteListeners(
        node(PORT),
        Date.now() + 10_000,
        () => false,
        (m) => logs.push(m),
      );
      assert.ok(Date.now() - t0 >= 1200, 'returned before anything listened');
      assert.deepEqual(logs, ['  r2: waiting for r3:eth2 on host b to listen on 127.0.0.1:31950']);
    } finally {
      clearTimeout(late);
      server?.close();
    }
  });

  it('fails at the deadline naming the peer host and port', async () => {
    const err = await waitForRemoteListeners(
      node(PORT + 1),
      Date.now() + 800,
      () => false,
      () => undefined,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof LabError);
    assert.equal(err.code, 'peer_not_listening');
    assert.equal(
      err.message,
      'r2: its link eth1 ↔ r3:eth2 connects to host b at 127.0.0.1:31951, where nothing listened within vm_boot_timeout (1 s)',
    );
    assert.match(err.hint ?? '', /vmlab deploy -S <spec dir> --host b/);
  });

  it('stops waiting when the deploy is cancelled', async () => {
    const t0 = Date.now();
    await waitForRemoteListeners(
      node(PORT + 1),
      Date.now() + 30_000,
      () => Date.now() - t0 > 300,
      () => undefined,
    );
    assert.ok(Date.now() - t0 < 5000);
  });
});
