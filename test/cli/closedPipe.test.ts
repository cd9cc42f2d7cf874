import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { initialState } from '../../src/lab/state/labState.js';
import { labDir, labFiles } from '../../src/plan/labFiles.js';
import { tempHome, vmlabBin } from '../helpers/cli.js';
import { planFor } from '../helpers/planFor.js';
import { baseSpec, writeSpecDir } from '../helpers/specDir.js';

interface Closed {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What reached the side that stayed open. */
  other: string;
  firstLine: string;
}

/**
 * Run the real CLI with one of its output pipes closed by the reader:
 * at once (`| true`), or after the first line (`| head -1`).
 */
function runClosing(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { stream: 'stdout' | 'stderr'; after: 'nothing' | 'first-line' },
): Promise<Closed> {
  return new Promise((done) => {
    const child = spawn(vmlabBin, args, {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const closing = child[opts.stream];
    const open = opts.stream === 'stdout' ? child.stderr : child.stdout;
    let other = '';
    let seen = '';
    let firstLine = '';
    open.on('data', (d: Buffer) => (other += d.toString()));
    if (opts.after === 'nothing') closing.destroy();
    else {
      closing.on('data', (d: Buffer) => {
        seen += d.toString();
        const nl = seen.indexOf('\n');
        if (nl >= 0 && !closing.destroyed) {
          firstLine = seen.slice(0, nl);
          closing.destroy();
        }
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, other, firstLine });
    });
  });
}

/** A state root with many deployed-looking labs (no QEMU: every node shows as exited), so status prints far more than a pipe holds. */
function homeWithLabs(count: number): string {
  const home = tempHome();
  const plan = planFor(writeSpecDir(baseSpec()));
  for (let i = 0; i < count; i++) {
    const name = `lab${String(i).padStart(3, '0')}`;
    const dir = labDir(home, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      labFiles(dir).state,
      JSON.stringify({ ...initialState({ ...plan, name }, new Date()), status: 'running' }),
    );
  }
  return home;
}

describe('a closed output pipe ends the command quietly', () => {
  const labs = homeWithLabs(300);

  it('vmlab status | head -1: exit 0, no stack trace', async () => {
    const r = await runClosing(['status'], { VMLAB_HOME: labs }, { stream: 'stdout', after: 'first-line' });
    assert.equal(r.firstLine.startsWith('lab lab000 (running, TCG'), true, r.firstLine);
    assert.equal(r.signal, null);
    assert.equal(r.code, 0, r.other);
    assert.equal(r.other, '');
  });

  it('vmlab status --json | true: exit 0, nothing on stderr', async () => {
    const r = await runClosing(['status', '--json'], { VMLAB_HOME: labs }, { stream: 'stdout', after: 'nothing' });
    assert.equal(r.code, 0, r.other);
    assert.equal(r.other, '');
  });

  it('vmlab status | true with no labs: exit 0, nothing on stderr', async () => {
    const r = await runClosing(['status'], { VMLAB_HOME: tempHome() }, { stream: 'stdout', after: 'nothing' });
    assert.equal(r.code, 0, r.other);
    assert.equal(r.other, '');
  });

  it('vmlab --help | true and vmlab stop --help | head -1: exit 0', async () => {
    const a = await runClosing(['--help'], { VMLAB_HOME: tempHome() }, { stream: 'stdout', after: 'nothing' });
    assert.equal(a.code, 0, a.other);
    assert.equal(a.other, '');
    const b = await runClosing(
      ['stop', '--help'],
      { VMLAB_HOME: tempHome() },
      { stream: 'stdout', after: 'first-line' },
    );
    assert.equal(b.firstLine, 'Usage: vmlab stop [options] <node>');
    assert.equal(b.code, 0, b.other);
    assert.equal(b.other, '');
  });

  it('a closed stderr does not change the exit code of a failure', async () => {
    const bad = await runClosing(
      ['stop', '--timeout', 'abc', 'r1'],
      { VMLAB_HOME: tempHome() },
      { stream: 'stderr', after: 'nothing' },
    );
    assert.equal(bad.code, 2);
    assert.equal(bad.other, '');
    const none = await runClosing(
      ['ssh', 'r1', '--', 'true'],
      { VMLAB_HOME: tempHome() },
      { stream: 'stderr', after: 'nothing' },
    );
    assert.equal(none.code, 2);
  });

  it('a closed stderr does not stop a command that succeeds', async () => {
    const r = await runClosing(
      ['status', '--json'],
      { VMLAB_HOME: tempHome() },
      { stream: 'stderr', after: 'nothing' },
    );
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.other), []);
  });
});
