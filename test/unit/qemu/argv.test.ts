import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optValue, linkNetdevOptions, netdevOptString } from '../../../src/qemu/argv.js';
import { shellQuote } from '../../../src/host/shellQuote.js';
import { mgmtNetdevArgs } from '../../../src/qemu/mgmtNet.js';

describe('argv pieces', () => {
  it('doubles commas in QEMU option values', () => {
    assert.equal(optValue('/home/a,b/disk.qcow2'), '/home/a,,b/disk.qcow2');
  });

  it('describes link sockets for the command line and QMP alike', () => {
    assert.deepEqual(linkNetdevOptions({ kind: 'tcp-listen', host: '127.0.0.1', port: 20000 }, 'link1'), {
      type: 'socket',
      id: 'link1',
      listen: '127.0.0.1:20000',
    });
    assert.deepEqual(linkNetdevOptions({ kind: 'udp', host: '127.0.0.1', localPort: 1, remotePort: 2 }, 'x'), {
      type: 'socket',
      id: 'x',
      udp: '127.0.0.1:2',
      localaddr: '127.0.0.1:1',
    });
    assert.equal(linkNetdevOptions({ kind: 'unwired' }, 'x'), undefined);
  });

  // QMP's netdev_add takes nested objects and booleans; the command line takes dotted keys and on/off.
  it('describes UNIX link sockets for QMP and flattens them for -netdev', () => {
    const listen = linkNetdevOptions({ kind: 'unix-listen', path: '/l/qemu/r1.nic1' }, 'link1')!;
    assert.deepEqual(listen, {
      type: 'stream',
      id: 'link1',
      server: true,
      addr: { type: 'unix', path: '/l/qemu/r1.nic1' },
    });
    assert.equal(netdevOptString(listen), 'stream,id=link1,server=on,addr.type=unix,addr.path=/l/qemu/r1.nic1');
    const connect = linkNetdevOptions({ kind: 'unix-connect', path: '/l/qemu/r1.nic1' }, 'link2g1')!;
    assert.equal(netdevOptString(connect), 'stream,id=link2g1,server=off,addr.type=unix,addr.path=/l/qemu/r1.nic1');
    const dgram = linkNetdevOptions({ kind: 'unix-dgram', path: '/a,b/r1.nic1', remotePath: '/a,b/r2.nic1' }, 'link1')!;
    assert.deepEqual(dgram, {
      type: 'dgram',
      id: 'link1',
      local: { type: 'unix', path: '/a,b/r1.nic1' },
      remote: { type: 'unix', path: '/a,b/r2.nic1' },
    });
    assert.equal(
      netdevOptString(dgram),
      'dgram,id=link1,local.type=unix,local.path=/a,,b/r1.nic1,remote.type=unix,remote.path=/a,,b/r2.nic1',
    );
  });

  it('quotes remote arguments so they survive the remote shell', () => {
    assert.equal(['sh', '-c', "ip a; echo 'x'"].map(shellQuote).join(' '), `sh -c 'ip a; echo '\\''x'\\'''`);
  });

  it('isolates the management NIC unless the plan says otherwise (also a plan recorded without the setting)', () => {
    const fwd = { bind: '127.0.0.1', sshPort: 42000 };
    const isolated = ['-netdev', 'user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:42000-:22'];
    assert.deepEqual(mgmtNetdevArgs(undefined, fwd, optValue), isolated);
    assert.deepEqual(mgmtNetdevArgs({ mode: 'isolated' }, fwd, optValue), isolated);
    assert.deepEqual(mgmtNetdevArgs({ mode: 'nat' }, { bind: '10.0.0.1', sshPort: 1 }, optValue), [
      '-netdev',
      'user,id=mgmt,hostfwd=tcp:10.0.0.1:1-:22',
    ]);
    const passt = { mode: 'passt' as const, socket: '/l,x/qemu/r1.net', pidFile: '/p', log: '/l', argv: [] };
    assert.deepEqual(mgmtNetdevArgs(passt, fwd, optValue), [
      '-netdev',
      'stream,id=mgmt,server=off,addr.type=unix,addr.path=/l,,x/qemu/r1.net',
      '-netdev',
      'user,id=mgmtslirp,restrict=on',
    ]);
  });
});
