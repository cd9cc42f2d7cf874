import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { baseSpec, writeSpecDir } from '../helpers/specDir.js';
import { assertIncludes } from '../helpers/assertions.js';

/** A spec whose disks never boot: every deploy of it fails at readiness. */
function neverBoots(ports: number, bootTimeout: number) {
  const home = tempHome();
  const blank = join(home, 'blank.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', blank, '64M']);
  const spec = baseSpec(blank);
  for (const p of Object.values((spec.platforms as any).platforms)) (p as any).vm_boot_timeout = bootTimeout;
  Object.assign((spec.topology as any).vmlab, {
    link_port_base: ports,
    console_port_base: ports + 100,
    ssh_port_base: ports + 200,
  });
  const dir = writeSpecDir(spec);
  return {
    home,
    dir,
    env: { VMLAB_HOME: home },
    labDir: join(home, 'labs', 'sparse'),
    profile: () => readFileSync(join(dir, 'profiles', 'r1.json'), 'utf8'),
  };
}

describe('a failed deploy', () => {
  it('leaves no process, restores the profiles, shows why, and can be destroyed', { timeout: 120_000 }, async () => {
    const t = neverBoots(25000, 4);
    const before = t.profile();
    const r = await vmlab(['deploy', '-S', t.dir], t.env);
    assert.equal(r.code, 1);
    assertIncludes(r.stderr, '3 node(s) did not come up');
    assertIncludes(r.stderr, 'r1: no SSH banner within vm_boot_timeout (4 s)');
    assert.match(r.stderr, /next: logs are in .*\/labs\/sparse\/logs/);
    assert.deepEqual(findQemusUnder(t.labDir), []);
    assert.equal(t.profile(), before);

    const status = JSON.parse((await vmlab(['status', '--json', 'sparse'], t.env)).stdout);
    assert.equal(status.status, 'failed');
    // A failed lab may be deployed again right away (it fails the same way here) or destroyed.
    assert.equal((await vmlab(['deploy', '-S', t.dir], t.env)).code, 1);
    assert.equal((await vmlab(['destroy', 'sparse'], t.env)).code, 0);
    assert.equal((await vmlab(['status', '--json'], t.env)).stdout.trim(), '[]');
  });

  it('interrupted with Ctrl-C (SIGINT) stops what it started and exits 130', { timeout: 60_000 }, async () => {
    const t = neverBoots(25300, 120);
    const before = t.profile();
    const child = spawn(vmlabBin, ['deploy', '-S', t.dir, '--max-parallel', '3'], {
      env: { ...process.env, ...t.env },
      stdio: 'ignore',
    });
    // Wait until the VMs run, then interrupt.
    for (let i = 0; i < 300 && findQemusUnder(t.labDir).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(findQemusUnder(t.labDir).length, 3);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 130);
    assert.deepEqual(findQemusUnder(t.labDir), []);
    assert.equal(existsSync(join(t.labDir, 'lock')), false);
    assert.equal(t.profile(), before);
  });
});
