import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hmpCommand, qmpCommand } from '../../../src/qemu/qmp.js';
import { qmpSocket } from '../../helpers/qmpSocket.js';

const dir = mkdtempSync(join(tmpdir(), 'vmlab-qmp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('one-shot QMP and HMP commands', () => {
  it('runs one QMP command and returns its answer', async () => {
    const s = await qmpSocket(join(dir, 'a.qmp'), () => ({ return: { status: 'running' } }));
    try {
      assert.deepEqual(await qmpCommand(s.path, 'query-status'), { status: 'running' });
      assert.deepEqual(s.seen, ['query-status']);
    } finally {
      await s.close();
    }
  });

  it('reports a QMP error as its class and description', async () => {
    const s = await qmpSocket(join(dir, 'b.qmp'), () => ({ error: { class: 'GenericError', desc: 'no such VM' } }));
    try {
      await assert.rejects(qmpCommand(s.path, 'stop'), /QMP GenericError: no such VM/);
    } finally {
      await s.close();
    }
  });

  it('returns what HMP printed, and fails on the text HMP reports an error with', async () => {
    const s = await qmpSocket(join(dir, 'c.qmp'), (_c, args) => {
      const line = String(args?.['command-line']);
      const refused = "Error: Device  'drive1'  is writable but does not support snapshots\r\n";
      return { return: line.startsWith('savevm bad') ? refused : 'ok\r\n' };
    });
    try {
      assert.equal(await hmpCommand(s.path, 'savevm good'), 'ok');
      await assert.rejects(hmpCommand(s.path, 'savevm bad'), {
        message: "Error: Device 'drive1' is writable but does not support snapshots",
      });
      assert.deepEqual(s.seen, ['hmp savevm good', 'hmp savevm bad']);
    } finally {
      await s.close();
    }
  });

  it('gives up on an HMP command QEMU does not answer in time', async () => {
    const s = await qmpSocket(join(dir, 'd.qmp'), () => 'silent');
    try {
      await assert.rejects(hmpCommand(s.path, 'savevm slow', 200), /no answer to "savevm slow" within 0.2 s/);
    } finally {
      await s.close();
    }
  });
});
