import assert from 'node:assert/strict';
import { symlinkSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { cloudGuest } from '../helpers/cloudGuest.js';
import { serveDir } from '../helpers/fileServer.js';
import type { TestServer } from '../helpers/httpServer.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { assertIncludes } from '../helpers/assertions.js';

/**
 * The whole cloud path for real: catalog entry → pull (local HTTP server
 * with SHA256SUMS) → verify → deploy a library image → cloud-init in the
 * guest (user, lab key, hostname, host key) → vmlab ssh. Minutes under TCG:
 * one lab, one node.
 */
describe('a cloud image from the catalog to cloud-init', { concurrency: false }, () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home };
  let server: TestServer | undefined;
  let image: string | null = null;
  let spec = '';

  before(async () => {
    image = await cloudGuest();
    if (!image) return;
    const www = join(home, 'www');
    mkdirSync(www);
    const name = 'debian-12-genericcloud-amd64.qcow2';
    symlinkSync(image, join(www, name));
    const h = createHash('sha256');
    await pipeline(createReadStream(image), h);
    writeFileSync(join(www, 'SHA256SUMS'), `${h.digest('hex')}  ${name}\n`);
    server = await serveDir(www);
    mkdirSync(join(home, 'catalog.d'));
    writeFileSync(
      join(home, 'catalog.d', 'local.yaml'),
      `- id: debian-12\n  url: ${server.url}/${name}\n  checksum: { url: ${server.url}/SHA256SUMS, style: gnu }\n`,
    );
  });
  after(async () => {
    for (const lab of ['cloud', 'cloudck']) await vmlab(['destroy', '--force', lab], env);
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('pulls, deploys, runs cloud-init and answers vmlab ssh', { timeout: 900_000 }, async (t) => {
    if (!image) return t.skip('debootstrap needs root to build the cloud image');
    const pull = await vmlab(['images', 'pull', 'debian-12'], env);
    assert.equal(pull.code, 0, pull.stderr);
    const dir = writeSpecDir(
      {
        topology: {
          devices: { c1: {} },
          vmlab: { name: 'cloud', console_port_base: 27100, ssh_port_base: 27200, link_port_base: 27000 },
        },
        platforms: {
          platforms: {
            cloud: {
              vm_image: 'debian-12',
              vm_memory: 1024,
              vm_cpus: 2,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_boot_timeout: 600,
            },
          },
        },
        profiles: { c1: { platform: 'cloud', cloud_init: { runcmd: ['touch /run/vmlab-runcmd'] } } },
      },
      'cloud',
    );
    spec = dir;
    const deploy = await vmlab(['deploy', '-S', dir], env, 900_000);
    assert.equal(deploy.code, 0, deploy.stderr);
    const r = await vmlab(
      [
        'ssh',
        'c1',
        '--',
        'sh',
        '-c',
        'cloud-init status; hostname; whoami; sudo -n true && echo sudo-ok; ls /run/vmlab-runcmd',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'status: done\nc1\ndebian\nsudo-ok\n/run/vmlab-runcmd\n');
    // Strict host-key checking against the key vmlab put in the seed.
    const cfg = await vmlab(['status', '--json', 'cloud'], env);
    assertIncludes(cfg.stdout, '"status": "running"');
    assert.ok(basename(dir) === 'cloud');
  });

  it('exported, destroyed and deployed warm: ready at once, cloud-init done, hostname and host key kept', {
    timeout: 600_000,
  }, async (t) => {
    if (!image || !spec) return t.skip('needs the cloud lab of the test before');
    await vmlab(
      ['ssh', 'c1', '--', 'sh', '-c', 'echo provisioned | sudo -n tee /etc/vmlab-provisioned >/dev/null'],
      env,
    );
    const x = await vmlab(['snapshot', '--name', 'ready', '--export', 'ready', 'cloud'], env, 300_000);
    assert.equal(x.code, 0, x.stderr);
    assert.equal((await vmlab(['destroy', 'cloud'], env)).code, 0);
    const t0 = Date.now();
    const warm = await vmlab(['deploy', '-S', spec, '--snapshot', 'ready'], env, 300_000);
    assert.equal(warm.code, 0, warm.stdout + warm.stderr);
    console.log(`# warm deploy of the cloud-init lab: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // StrictHostKeyChecking=yes against the exported host key: a changed key would fail here.
    const r = await vmlab(
      ['ssh', 'c1', '--', 'sh', '-c', 'cloud-init status; hostname; cat /etc/vmlab-provisioned; date +%s'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const [status, host, mark, clock] = r.stdout.trim().split('\n');
    assert.deepEqual([status, host, mark], ['status: done', 'c1', 'provisioned']);
    assert.ok(Math.abs(Number(clock) - Date.now() / 1000) < 5, `guest clock ${clock} vs host ${Date.now() / 1000}`);
  });

  it('checkpointed into the library: two nodes start from it, each its own host, host key and lab key', {
    timeout: 600_000,
  }, async (t) => {
    if (!image || !spec) return t.skip('needs the cloud lab of the tests before');
    const cp = await vmlab(['images', 'checkpoint', 'cloud/c1', '--name', 'debian-booted'], env, 300_000);
    assert.equal(cp.code, 0, cp.stderr);
    const dir = writeSpecDir(
      {
        topology: {
          devices: { k1: {}, k2: {} },
          vmlab: { name: 'cloudck', console_port_base: 27110, ssh_port_base: 27210, link_port_base: 27010 },
        },
        platforms: {
          platforms: {
            cloud: {
              vm_image: 'debian-booted',
              vm_memory: 1024,
              vm_cpus: 2,
              vm_nic_driver: 'virtio-net-pci',
              vm_interface_map: 'linux',
              vm_boot_timeout: 300,
            },
          },
        },
        profiles: { k1: { platform: 'cloud' }, k2: { platform: 'cloud' } },
      },
      'cloudck',
    );
    const t0 = Date.now();
    const d = await vmlab(['deploy', '-S', dir], env, 400_000);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    console.log(`# 2 cloud-init nodes from a library checkpoint: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    try {
      for (const node of ['k1', 'k2']) {
        // StrictHostKeyChecking=yes against this lab's key for the node: the checkpoint's key would fail here.
        const r = await vmlab(
          [
            '--lab',
            'cloudck',
            'ssh',
            node,
            '--',
            'sh',
            '-c',
            'cloud-init status; hostname; cat /etc/vmlab-provisioned; sudo -n true && echo sudo-ok; date +%s',
          ],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
        const [status, host, mark, sudo, clock] = r.stdout.trim().split('\n');
        assert.deepEqual([status, host, mark, sudo], ['status: done', node, 'provisioned', 'sudo-ok']);
        assert.ok(
          Math.abs(Number(clock) - Date.now() / 1000) < 10,
          `${node} clock ${clock} vs host ${Date.now() / 1000}`,
        );
      }
    } finally {
      await vmlab(['destroy', '--force', 'cloudck'], env);
    }
  });
});
