import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { isAlive, sleep } from '../../../src/host/processes.js';
import { run, runSync, startDetached } from '../../../src/host/subprocess.js';

// Real processes (sh, sleep): the runner is the one place vmlab starts children.
const sh = (script: string) => ['sh', '-c', script];

describe('host/subprocess', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-subprocess-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('collects output and the exit code', async () => {
    const r = await run(sh('echo out; echo err >&2; exit 3'));
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.timedOut, false);
  });

  it('feeds input and reports a program that cannot start as 127', async () => {
    assert.equal((await run(['cat'], { input: 'hello' })).stdout, 'hello');
    const r = await run(['/nonexistent/vmlab-no-such-program']);
    assert.equal(r.exitCode, 127);
    assert.ok(r.spawnError);
  });

  it('gives whole lines even when a line is cut across writes', async () => {
    const lines: string[] = [];
    await run(sh('printf "ab"; sleep 0.1; printf "c\\nde\\rf"'), { onLine: (l) => lines.push(l) });
    assert.deepEqual(lines, ['abc', 'de', 'f']);
  });

  it('answers on stdin once the child asks', async () => {
    const r = await run(sh('echo ready; read t; echo "got $t"'), {
      reply: (out) => (out.includes('ready') ? '42\n' : undefined),
    });
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /got 42/);
  });

  it('kills on timeout and on abort', async () => {
    const slow = await run(['sleep', '30'], { timeoutMs: 200 });
    assert.equal(slow.timedOut, true);
    assert.equal(slow.signal, 'SIGKILL');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const cancelled = await run(['sleep', '30'], { signal: ac.signal, kill: { signal: 'SIGTERM' } });
    assert.equal(cancelled.aborted, true);
    assert.equal(cancelled.signal, 'SIGTERM');
  });

  it('stops a whole process group, grandchildren too', async () => {
    const pidFile = join(dir, 'grandchild');
    const r = await run(sh(`sleep 30 & echo $! > ${pidFile}; wait`), {
      timeoutMs: 300,
      kill: { signal: 'SIGTERM', graceMs: 1000, group: true },
    });
    assert.equal(r.timedOut, true);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 20 && isAlive(grandchild); i++) await sleep(50);
    assert.equal(isAlive(grandchild), false, 'the sleep the shell started is gone too');
  });

  it('sweeps the group after a stop: a grandchild that ignores SIGTERM is killed too', async () => {
    const pidFile = join(dir, 'stubborn');
    // Its output goes elsewhere: a child holding our pipes would keep the run open until it exits.
    const r = await run(sh(`sh -c 'trap "" TERM; exec sleep 30' >/dev/null 2>&1 & echo $! > ${pidFile}; wait`), {
      timeoutMs: 300,
      kill: { signal: 'SIGTERM', graceMs: 60_000, group: true, sweep: true },
    });
    assert.equal(r.timedOut, true);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 20 && isAlive(grandchild); i++) await sleep(50);
    assert.equal(isAlive(grandchild), false, 'the sleep that ignored SIGTERM is gone');
  });

  it('pipes a stream to stdin', async () => {
    const r = await run(['cat'], { inputStream: Readable.from(['from ', 'a stream']) });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'from a stream');
  });

  it('keeps only the tail when asked', async () => {
    const r = await run(sh('seq 1 1000'), { keepChars: 9 });
    assert.equal(r.stdout, '999\n1000\n');
  });

  it('runs a daemonizing program synchronously, with a timeout', () => {
    assert.equal(runSync(sh('echo hi'), { timeoutMs: 5000 }).stdout, 'hi\n');
    assert.equal(runSync(['sleep', '5'], { timeoutMs: 100 }).timedOut, true);
  });

  it('starts a detached child that logs to a file and outlives the call', async () => {
    const log = join(dir, 'detached.log');
    const child = startDetached(sh('echo started; exec sleep 30'), { log });
    assert.ok(child.pid);
    for (let i = 0; i < 40 && !readFileSync(log, 'utf8').includes('started'); i++) await sleep(25);
    assert.match(readFileSync(log, 'utf8'), /started/);
    assert.equal(child.exited(), undefined);
    process.kill(child.pid!, 'SIGKILL');
    for (let i = 0; i < 40 && !child.exited(); i++) await sleep(25);
    assert.equal(child.exited()?.signal, 'SIGKILL');
  });
});
