import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { tinyGuest } from '../helpers/tinyGuest.js';
import { fakeQemuBinary } from '../helpers/fakeQemuBin.js';

/**
 * Faults injected into real labs (real QEMU, tiny guests): kill -9 of
 * deploy at each stage and of a QEMU, deleted and truncated state,
 * concurrent deploys and destroys, two labs from one spec dir. Each ends
 * with no orphan process and the profiles right. One spec (r1 — r2 over
 * TCP); the steps run in order and share booted labs to keep time down.
 */
const PORTS = 27500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('lab state survives faults', { concurrency: false }, () => {
  let image: string;
  let spec: string;
  const home = tempHome();
  const env = { VMLAB_HOME: home };
  const labDir = join(home, 'labs', 'ft');
  const profile = () => readFileSync(join(spec, 'profiles', 'r1.json'), 'utf8');
  let pristine: string;
  const status = async (e: NodeJS.ProcessEnv = env) => {
    const r = await vmlab(['status', '--json', 'ft'], e);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  /** Start a deploy and kill -9 it once `stage` holds. */
  const killDeployWhen = async (stage: () => boolean) => {
    const child = spawn(vmlabBin, ['deploy', '-S', spec], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const closed = new Promise((r) => child.on('close', r));
    await waitFor('the deploy stage', stage);
    child.kill('SIGKILL');
    await closed;
  };
  const noOrphans = () => assert.deepEqual(findQemusUnder(labDir), []);

  before(async () => {
    image = await tinyGuest();
    spec = writeSpecDir(
      {
        topology: {
          devices: {
            r1: { interfaces: { eth1: { link: 'r2:eth1' } } },
            r2: { interfaces: { eth1: { link: 'r1:eth1' } } },
          },
          vmlab: { name: 'ft', link_port_base: PORTS, console_port_base: PORTS + 10, ssh_port_base: PORTS + 20 },
        },
        platforms: {
          platforms: {
            tiny: {
              vm_image: image,
              vm_memory: 256,
              vm_cpus: 1,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_credentials: { user: 'root', pass: 'vmlab' },
              vm_boot_timeout: 120,
            },
          },
        },
        profiles: { r1: { platform: 'tiny' }, r2: { platform: 'tiny' } },
      },
      'ft',
    );
    pristine = profile();
  });

  const other = { VMLAB_HOME: tempHome(), VMLAB_QEMU: fakeQemuBinary(), FAKE_GUEST: 'panic', VMLAB_ACCEL: 'tcg' };
  it('a deploy of the same spec dir from another VMLAB_HOME fails (its guests panic): it leaves the profiles alone', {
    timeout: 60_000,
  }, async () => {
    const r = await vmlab(['deploy', '-S', spec], other);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the guest kernel panicked/);
    assert.equal(profile(), pristine);
    assert.equal(JSON.parse((await vmlab(['status', '--json', 'ft'], other)).stdout).status, 'failed');
  });

  it('kill -9 of deploy once every QEMU is up: the lab shows as interrupted with running VMs; destroy leaves nothing', {
    timeout: 120_000,
  }, async () => {
    await killDeployWhen(() => findQemusUnder(labDir).length === 2);
    const s = await status();
    assert.equal(s.status, 'interrupted');
    assert.match(s.hint, /deploy again .* or remove it \(vmlab destroy ft\)/);
    assert.deepEqual(
      s.nodes.map((n: { status: string }) => n.status),
      ['running', 'running'],
    ); // from the processes, not "exited"
    const start = await vmlab(['start', 'r1'], env);
    assert.equal(start.code, 1);
    assert.match(start.stderr, /the deploy of lab "ft" was interrupted/);
    assert.equal(findQemusUnder(labDir).length, 2); // and it started no second QEMU
    const d = await vmlab(['destroy'], env);
    assert.equal(d.code, 0, d.stderr);
    noOrphans();
    assert.equal(existsSync(labDir), false);
    assert.equal(profile(), pristine);
  });

  it('kill -9 of deploy while QEMUs start: a new deploy cleans up and succeeds', { timeout: 180_000 }, async () => {
    await killDeployWhen(() => findQemusUnder(labDir).length >= 1);
    assert.equal((await status()).status, 'interrupted');
    const r = await vmlab(['deploy', '-S', spec], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /an earlier deploy of "ft" was interrupted .* cleaning up what it left/);
    assert.equal(findQemusUnder(labDir).length, 2);
    const s = await status();
    assert.equal(s.status, 'running');
    assert.notEqual(profile(), pristine); // patched with the ports
  });

  it("destroying a failed lab of the same spec dir (another VMLAB_HOME) leaves the running lab's profile fields alone", {
    timeout: 60_000,
  }, async () => {
    // `other` failed (before the real lab patched the profiles, see the first step); its plan holds the
    // pristine profile, and the patched text is what it would have written (same ports).
    const patched = profile();
    assert.notEqual(patched, pristine);
    const d = await vmlab(['destroy', 'ft'], other);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(profile(), patched);
  });

  it('kill -9 of one QEMU: status says exited; start brings it back', { timeout: 120_000 }, async () => {
    const s = await status();
    const r2 = s.nodes.find((n: { node: string }) => n.node === 'r2');
    process.kill(r2.pid, 'SIGKILL');
    await waitFor('r2 to die', () => findQemusUnder(labDir).length === 1);
    const after = await status();
    assert.deepEqual(
      after.nodes.map((n: { status: string }) => n.status),
      ['running', 'exited'],
    );
    const start = await vmlab(['start', 'r2'], env);
    assert.equal(start.code, 0, start.stderr);
    assert.deepEqual(
      (await status()).nodes.map((n: { status: string }) => n.status),
      ['running', 'running'],
    );
  });

  it('state.json truncated: destroy asks for --force, which restores the profiles and stops every QEMU', {
    timeout: 60_000,
  }, async () => {
    writeFileSync(join(labDir, 'state.json'), '{"name": "ft", "sta');
    const s = await status();
    assert.equal(s.status, 'unreadable');
    assert.equal(s.nodes.length, 2);
    const plain = await vmlab(['destroy', 'ft'], env);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /not valid JSON[\s\S]*destroy --force ft/);
    const forced = await vmlab(['destroy', '--force', 'ft'], env);
    assert.equal(forced.code, 0, forced.stderr);
    noOrphans();
    assert.equal(profile(), pristine);
    assert.equal(existsSync(labDir), false);
  });

  it('concurrent deploys: exactly one wins; state.json deleted: the lab is still found; concurrent destroys both succeed', {
    timeout: 180_000,
  }, async () => {
    const [a, b] = await Promise.all([vmlab(['deploy', '-S', spec], env), vmlab(['deploy', '-S', spec], env)]);
    assert.deepEqual([a.code, b.code].sort(), [0, 1], a.stderr + b.stderr);
    assert.match((a.code ? a : b).stderr, /is busy|already deployed/);
    assert.equal(findQemusUnder(labDir).length, 2);

    rmSync(join(labDir, 'state.json'));
    const all = JSON.parse((await vmlab(['status', '--json'], env)).stdout);
    assert.equal(all.length, 1);
    assert.equal(all[0].status, 'state-lost');
    assert.deepEqual(all[0].nodes.map((n: { node: string; status: string }) => `${n.node} ${n.status}`).sort(), [
      'r1 running',
      'r2 running',
    ]);
    const again = await vmlab(['deploy', '-S', spec], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /2 QEMU process\(es\) running but no state\.json/);

    const [d1, d2] = await Promise.all([vmlab(['destroy'], env), vmlab(['destroy', 'ft'], env)]);
    assert.equal(d1.code, 0, d1.stderr);
    assert.equal(d2.code, 0, d2.stderr);
    noOrphans();
    assert.equal(profile(), pristine);
    const none = await vmlab(['destroy'], env);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /nothing to do/);
  });
});
