import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optValue, linkNetdevOptions } from '../../../src/qemu/argv.js';
import { shellQuote } from '../../../src/lab/sshCommand.js';
import { mgmtNetdevArgs } from '../../../src/qemu/mgmtNet.js';

describe('argv pieces', () => {
  it('doubles commas in QEMU option values', () => {
    assert.equal(optValue('/home/a,b/disk.qcow2'), '/home/a,,b/disk.qcow2');
  });

  it('describes link sockets for the command line and QMP alike', () => {
    assert.deepEqual(linkNetdevOptions({ kind: 'tcp-listen', host: '127.0.0.1', port: 20000 }, 'link1'), { type: 'socket', id: 'link1', listen: '127.0.0.1:20000' });
    assert.deepEqual(linkNetdevOptions({ kind: 'udp', host: '127.0.0.1', localPort: 1, remotePort: 2 }, 'x'), { type: 'socket', id: 'x', udp: '127.0.0.1:2', localaddr: '127.0.0.1:1' });
    assert.equal(linkNetdevOptions({ kind: 'unwired' }, 'x'), undefined);
  });

  it('quotes remote arguments so they survive the remote shell', () => {
    assert.equal(['sh', '-c', "ip a; echo 'x'"].map(shellQuote).join(' '), `sh -c 'ip a; echo '\\''x'\\'''`);
  });

  it('isolates the management NIC unless the plan says otherwise (also a plan recorded without the setting)', () => {
    const fwd = { bind: '127.0.0.1', sshPort: 42000 };
    const isolated = ['-netdev', 'user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:42000-:22'];
    assert.deepEqual(mgmtNetdevArgs(undefined, fwd, optValue), isolated);
    assert.deepEqual(mgmtNetdevArgs({ mode: 'isolated' }, fwd, optValue), isolated);
    assert.deepEqual(mgmtNetdevArgs({ mode: 'nat' }, { bind: '10.0.0.1', sshPort: 1 }, optValue), ['-netdev', 'user,id=mgmt,hostfwd=tcp:10.0.0.1:1-:22']);
    const passt = { mode: 'passt' as const, socket: '/l,x/qemu/r1.net', pidFile: '/p', log: '/l', argv: [] };
    assert.deepEqual(mgmtNetdevArgs(passt, fwd, optValue), [
      '-netdev', 'stream,id=mgmt,server=off,addr.type=unix,addr.path=/l,,x/qemu/r1.net',
      '-netdev', 'user,id=mgmtslirp,restrict=on',
    ]);
  });
});
