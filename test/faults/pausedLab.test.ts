import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QmpClient } from '../../src/qemu/qmp.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { fakeQemuEnv } from '../helpers/fakeQemuBin.js';
import { writeSpecDir } from '../helpers/specDir.js';

/**
 * A vmlab killed while a snapshot has the lab paused (kill -9 between QMP
 * stop and cont) leaves running QEMUs whose guests are frozen. status says
 * so with the way on, `vmlab resume` resumes them, and so does the next
 * snapshot command by itself. Fake QEMU: the run states are what matter.
 */
const LAB = 'pl';
const PORTS = 28800;

describe('a lab left paused by a killed vmlab', { concurrency: false }, () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home, ...fakeQemuEnv(), VMLAB_ACCEL: 'tcg' };
  const stateFile = join(home, 'labs', LAB, 'state.json');
  let spec = '';
  const status = async () =>
    JSON.parse((await vmlab(['status', '--json', LAB], env)).stdout) as {
      hint?: string;
      nodes: Array<{ node: string; status: string }>;
    };
  /** What a vmlab killed mid-snapshot leaves: paused VMs, and its (now dead) pid in state.json. */
  const leavePaused = async (nodes: string[]) => {
    for (const n of nodes) {
      const q = await QmpClient.connect(join(home, 'labs', LAB, 'qemu', `${n}.qmp`));
      await q.execute('stop');
      q.close();
    }
    const dead = spawnSync('true').pid;
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    writeFileSync(stateFile, JSON.stringify({ ...state, paused_by: dead }, null, 2));
    return dead;
  };

  before(() => {
    const image = join(home, 'guest.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    spec = writeSpecDir(
      {
        topology: {
          devices: { r1: {}, r2: {} },
          links: [{ a: 'r1:eth1', z: 'r2:eth1' }],
          vmlab: { name: LAB, link_port_base: PORTS, console_port_base: PORTS + 10, ssh_port_base: PORTS + 20 },
        },
        platforms: {
          platforms: {
            fake: {
              vm_image: image,
              vm_memory: 256,
              vm_cpus: 1,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_credentials: { user: 'root', pass: 'vmlab' },
              vm_boot_timeout: 60,
            },
          },
        },
        profiles: { r1: { platform: 'fake' }, r2: { platform: 'fake' } },
      },
      LAB,
    );
  });
  after(async () => {
    await vmlab(['destroy', '--force', LAB], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('status names the killed vmlab and the way on; vmlab resume runs every VM again', {
    timeout: 60_000,
  }, async () => {
    const d = await vmlab(['deploy', '-S', spec], env);
    assert.equal(d.code, 0, d.stderr);
    const dead = await leavePaused(['r1', 'r2']);
    const s = await status();
    assert.deepEqual(
      s.nodes.map((n) => n.status),
      ['paused', 'paused'],
    );
    assert.equal(
      s.hint,
      `vmlab (pid ${dead}) was killed while the lab was paused for a snapshot: resume it with vmlab resume ${LAB}`,
    );
    const r = await vmlab(['resume', LAB], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `resumed r1, r2 in lab ${LAB}\n`);
    const after = await status();
    assert.deepEqual(
      after.nodes.map((n) => n.status),
      ['running', 'running'],
    );
    assert.equal(after.hint, undefined);
    assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).paused_by, undefined);
    assert.equal((await vmlab(['resume', LAB], env)).stdout, `no VM of lab ${LAB} was paused\n`);
  });

  it('the next snapshot command resumes what a killed one left paused, and says so', { timeout: 60_000 }, async () => {
    const dead = await leavePaused(['r2']);
    const r = await vmlab(['snapshot', '--delete', 'nope', LAB], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`vmlab \\(pid ${dead}\\) was killed while lab "${LAB}" was paused; resumed r2`));
    assert.match(r.stderr, /has no snapshot "nope"/);
    assert.deepEqual(
      (await status()).nodes.map((n) => n.status),
      ['running', 'running'],
    );
  });
});
