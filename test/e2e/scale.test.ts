import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { QEMU_OVERHEAD_MB } from '../../src/lab/lifecycle/capacity.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { ringNodes, ringSpec } from '../helpers/ringSpec.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { tinyGuest } from '../helpers/tinyGuest.js';

/**
 * Scale on one host: a 16-node ring of tiny guests (128 MiB) under TCG on
 * a 2-core machine, booted in waves. Right after the deploy returns every
 * node takes an SSH session on the first try, one after another (ready
 * means usable), and status reports what each QEMU costs. The only 16-node
 * lab in the suite: budget ≈150 s on CI. Ports 32000-32299.
 */
describe('a 16-node ring on one host', { concurrency: false }, () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home };
  const nodes = ringNodes(16);
  let dir = '';
  let deployErr = '';

  before(async () => {
    dir = writeSpecDir(ringSpec(16, await tinyGuest(), 'scale16', 32000), 'scale16');
  });
  after(async () => {
    await vmlab(['destroy', '--force', 'scale16'], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a deploy past the host memory before anything starts; bad --max-parallel is exit 2', async () => {
    const bad = await vmlab(['deploy', '-S', dir, '--max-parallel', '0'], env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--max-parallel: expected a whole number of nodes from 1 to 1024, got "0"/);
    const huge = writeSpecDir(ringSpec(2, await tinyGuest(), 'huge', 32300), 'huge');
    writeFileSync(
      `${huge}/platforms.json`,
      readFileSync(`${huge}/platforms.json`, 'utf8').replace('"vm_memory": 128', '"vm_memory": 1073741824'),
    );
    const r = await vmlab(['deploy', '-S', huge], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /lab "huge" needs \d+ MiB of memory \(2 node\(s\): guest RAM \+ \d+ MiB of QEMU each\) but this host has \d+ MiB available: \d+ MiB missing/,
    );
    assert.match(r.stderr, /--force/);
    assert.doesNotMatch(r.stderr, /Deploying/, 'nothing started');
  });

  // The timeout is a safety net for a host shared with other QEMU work, not the budget.
  it('deploys in waves of at most the core count', { timeout: 900_000 }, async () => {
    const r = await vmlab(['deploy', '-S', dir], env, 900_000);
    deployErr = r.stderr;
    assert.equal(r.code, 0, r.stderr);
    const waves = /booting 16 node\(s\), at most (\d+) at a time \((\d+) waves\)/.exec(r.stderr);
    assert.ok(waves, r.stderr);
    assert.equal(Number(waves[2]), Math.ceil(16 / Number(waves[1])));
    assert.match(r.stderr, new RegExp(`wave ${waves[2]}/${waves[2]}: `));
    for (const n of nodes) assert.match(r.stderr, new RegExp(`  ${n} ready after [\\d.]+ s`));
  });

  it('right after the deploy, every node takes `vmlab ssh NODE -- true` on the first try', {
    timeout: 300_000,
  }, async () => {
    assert.ok(deployErr, 'the deploy ran');
    for (const n of nodes) {
      const r = await vmlab(['ssh', n, '--', 'true'], env, 60_000);
      assert.equal(r.code, 0, `${n}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${n} answered without a retry`);
    }
  });

  it('status --json reports RSS and CPU time per node; RSS stays within guest RAM + the planned overhead', async () => {
    const s = JSON.parse((await vmlab(['status', '--json', 'scale16'], env)).stdout);
    assert.equal(s.nodes.length, 16);
    for (const n of s.nodes) {
      assert.equal(n.status, 'running', n.node);
      assert.ok(n.cpu_seconds > 1, `${n.node} cpu ${n.cpu_seconds}`);
      const mib = n.rss_bytes / 2 ** 20;
      assert.ok(mib > 64 && mib <= 128 + QEMU_OVERHEAD_MB.tcg, `${n.node}: RSS ${mib.toFixed(0)} MiB`);
    }
  });
});
