import { describe, expect, it } from 'vitest';
import { optValue, linkNetdevOptions } from '../../../src/qemu/argv.js';
import { shellQuote } from '../../../src/lab/sshCommand.js';

describe('argv pieces', () => {
  it('doubles commas in QEMU option values', () => {
    expect(optValue('/home/a,b/disk.qcow2')).toBe('/home/a,,b/disk.qcow2');
  });

  it('describes link sockets for the command line and QMP alike', () => {
    expect(linkNetdevOptions({ kind: 'tcp-listen', host: '127.0.0.1', port: 20000 }, 'link1')).toEqual({ type: 'socket', id: 'link1', listen: '127.0.0.1:20000' });
    expect(linkNetdevOptions({ kind: 'udp', host: '127.0.0.1', localPort: 1, remotePort: 2 }, 'x')).toEqual({ type: 'socket', id: 'x', udp: '127.0.0.1:2', localaddr: '127.0.0.1:1' });
    expect(linkNetdevOptions({ kind: 'unwired' }, 'x')).toBeUndefined();
  });

  it('quotes remote arguments so they survive the remote shell', () => {
    expect(['sh', '-c', "ip a; echo 'x'"].map(shellQuote).join(' ')).toBe(`sh -c 'ip a; echo '\\''x'\\'''`);
  });
});
