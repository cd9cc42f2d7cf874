import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runSshSession } from '../../src/lab/node/sshSession.js';
import type { LabState } from '../../src/lab/state/labState.js';

/**
 * Real OpenSSH against a TCP server standing in for a loaded guest: the
 * first connection is accepted and held silent (as QEMU's forward does
 * while the guest is too busy to answer), the second answers a banner and
 * hangs up during key exchange. Port from this worktree's range.
 */
describe('vmlab ssh on a slow node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-sshsession-'));
  const sockets: Socket[] = [];
  let connections = 0;
  const server = createServer((s) => {
    sockets.push(s);
    if (++connections >= 2) s.end('SSH-2.0-OpenSSH_9.2\r\n');
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries a banner timeout within the boot timeout, says why, and passes later failures through', async () => {
    const port = 32990;
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const config = join(dir, 'ssh_config');
    writeFileSync(
      config,
      `Host n1\n  HostName 127.0.0.1\n  Port ${port}\n  User root\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  IdentityFile /dev/null\n`,
    );
    const state = {
      name: 'slow',
      plan: {
        files: { sshConfig: config },
        nodes: [{ name: 'n1', credentials: { user: 'root', pass: null }, bootTimeoutS: 60 }],
      },
    } as unknown as LabState;
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (d: Buffer) => (text += d.toString()));
    const waits: string[] = [];
    const code = await runSshSession(state, 'n1', ['true'], { stderr, waiting: (m) => waits.push(m) }, process.env);
    assert.equal(code, 255);
    assert.equal(connections, 2);
    assert.equal(waits.length, 1);
    assert.match(
      waits[0]!,
      /^n1 is running but its SSH server did not answer in time \(host load [\d.]+ on \d+ cores?\); trying again for up to \d+ s$/,
    );
    // The held banner-timeout line is not shown once the retry happened; the later failure is.
    assert.doesNotMatch(text, /banner exchange/);
    assert.match(text, /Connection closed|kex|Connection reset/);
  });
});
