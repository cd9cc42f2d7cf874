import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { portsStillBusy } from '../../../src/lab/lifecycle/portCheck.js';
import type { NodePlan } from '../../../src/plan/labPlan.js';

/** Just what the port check reads of a node: its SSH forward and console (ports 22990-22991, this file's own). */
const node = {
  name: 'n1',
  consolePort: 22991,
  nics: [{ index: 0, iface: 'mgmt', mac: '', backend: { kind: 'user', sshPort: 22990 } }],
} as unknown as NodePlan;
const hold = (port: number) =>
  new Promise<Server>((r) => {
    const s = createServer();
    s.listen(port, '127.0.0.1', () => r(s));
  });
const close = (s: Server) => new Promise((r) => s.close(r));

describe('ports checked again just before a node starts', () => {
  it('waits for a short-lived holder to let go', async () => {
    const s = await hold(22990);
    setTimeout(() => void close(s), 400);
    assert.deepEqual(await portsStillBusy(node, 5_000), []);
  });

  it('names what is still busy when the wait is over', async () => {
    const s = await hold(22991);
    try {
      assert.deepEqual(await portsStillBusy(node, 300), [{ address: '127.0.0.1', port: 22991, use: 'console of n1' }]);
    } finally {
      await close(s);
    }
  });

  it('checks no console port where the console is a unix socket (no console_tcp)', async () => {
    const s = await hold(22991);
    try {
      assert.deepEqual(await portsStillBusy({ ...node, consolePort: null }, 300), []);
    } finally {
      await close(s);
    }
  });

  it('checks no port for a link over UNIX sockets', async () => {
    const unix = {
      ...node,
      nics: [
        ...node.nics,
        {
          index: 1,
          iface: 'eth1',
          mac: '',
          link: 0,
          peer: 'n2:eth1',
          backend: { kind: 'unix-dgram', path: '/l/n1.nic1', remotePath: '/l/n2.nic1' },
        },
      ],
    } as unknown as NodePlan;
    const s = await hold(22990);
    try {
      assert.deepEqual(await portsStillBusy(unix, 0), [{ address: '127.0.0.1', port: 22990, use: 'SSH of n1' }]);
    } finally {
      await close(s);
    }
  });
});
