import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findQemusUnder } from '../../src/lab/state/labScan.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { fakeQemuEnv } from '../helpers/fakeQemuBin.js';
import { writeSpecDir } from '../helpers/specDir.js';

/**
 * Deploys against the fake QEMU on each kind of host (KVM working, broken
 * at reset, broken at run), so the fallback is tested whatever this
 * machine's KVM does. The lab: r1 — r2 over TCP.
 */
function fakeHost(ports: number, fake: Record<string, string>) {
  const home = tempHome();
  const image = join(home, 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
  const kvm = join(home, 'kvm');
  writeFileSync(kvm, '');
  const dir = writeSpecDir({
    topology: {
      devices: { r1: { interfaces: { eth1: { link: 'r2:eth1' } } }, r2: { interfaces: { eth1: { link: 'r1:eth1' } } } },
      vmlab: { name: 'fk', link_port_base: ports, console_port_base: ports + 10, ssh_port_base: ports + 20 },
    },
    platforms: {
      platforms: {
        p: {
          vm_image: image,
          vm_memory: 64,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_boot_timeout: 20,
        },
      },
    },
    profiles: { r1: { platform: 'p' }, r2: { platform: 'p' } },
  });
  const env = {
    VMLAB_HOME: home,
    ...fakeQemuEnv(),
    VMLAB_KVM_DEVICE: kvm,
    VMLAB_ACCEL: '',
    XDG_CACHE_HOME: join(home, 'cache'),
    ...fake,
  };
  return {
    home,
    dir,
    env,
    labDir: join(home, 'labs', 'fk'),
    cache: () => JSON.parse(readFileSync(join(home, 'cache', 'vmlab', 'accel.json'), 'utf8')),
  };
}

const statusOf = async (t: ReturnType<typeof fakeHost>) =>
  JSON.parse((await vmlab(['status', '--json', 'fk'], t.env)).stdout);

describe('deploy on each kind of KVM host (fake QEMU)', () => {
  it('KVM working: the lab runs under KVM', { timeout: 60_000 }, async () => {
    const t = fakeHost(26000, { FAKE_KVM: 'works' });
    const r = await vmlab(['deploy', '-S', t.dir], t.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /KVM \(KVM works\)/);
    assert.equal((await statusOf(t)).accel, 'kvm');
    assert.equal((await vmlab(['destroy'], t.env)).code, 0);
  });

  it('KVM broken at vCPU reset: the probe says so and the lab runs under TCG', { timeout: 60_000 }, async () => {
    const t = fakeHost(26100, { FAKE_KVM: 'reset' });
    const r = await vmlab(['deploy', '-S', t.dir], t.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /TCG \(\/dev\/kvm exists but QEMU fails to start a vCPU with it\)/);
    assert.equal(t.cache().verdict, 'kvm-broken-at-reset');
    assert.equal((await vmlab(['destroy'], t.env)).code, 0);
  });

  it('KVM broken at run, caught by the probe: TCG from the start', { timeout: 60_000 }, async () => {
    const t = fakeHost(26200, { FAKE_KVM: 'run', FAKE_CRASH_MS: '100' });
    const r = await vmlab(['deploy', '-S', t.dir], t.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /TCG \(\/dev\/kvm exists but guests crash under it\)/);
    assert.equal(t.cache().verdict, 'kvm-broken-at-run');
    assert.equal((await vmlab(['destroy'], t.env)).code, 0);
  });

  it('KVM broken at run, missed by the probe: the guest crash is the verdict, the lab restarts under TCG, said once', {
    timeout: 60_000,
  }, async () => {
    const t = fakeHost(26300, { FAKE_KVM: 'run', FAKE_PROBE: 'pass', FAKE_CRASH_MS: '300' });
    const started = Date.now();
    const r = await vmlab(['deploy', '-S', t.dir], t.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Deploying lab "fk": 2 node\(s\), 1 link\(s\), KVM/);
    assert.equal(r.stderr.match(/KVM crashed/g)?.length, 1, r.stderr);
    assert.match(
      r.stderr,
      /KVM crashed r[12] 0\.\d s into its boot \(VM state internal-error\)\. KVM is now marked broken on this host .*starting the lab again under TCG/,
    );
    assert.doesNotMatch(r.stderr, /EAX=|extra data/); // the register dump stays in the log
    assert.ok(Date.now() - started < 15_000);
    const s = await statusOf(t);
    assert.equal(s.accel, 'tcg');
    assert.deepEqual(
      s.nodes.map((n: { status: string }) => n.status),
      ['running', 'running'],
    );
    assert.match(readFileSync(join(t.labDir, 'logs', 'r1.log'), 'utf8'), /KVM internal error/);
    const cached = t.cache();
    assert.equal(cached.verdict, 'kvm-broken-at-run');
    assert.equal(cached.source, 'guest-crash');

    // The next deploy on this host goes straight to TCG.
    assert.equal((await vmlab(['destroy'], t.env)).code, 0);
    const again = await vmlab(['deploy', '-S', t.dir], t.env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /TCG \(\/dev\/kvm exists but guests crash under it; verdict cached/);
    assert.doesNotMatch(again.stderr, /KVM crashed/);
    assert.equal((await vmlab(['destroy'], t.env)).code, 0);
    assert.deepEqual(findQemusUnder(t.labDir), []);
  });

  it('a node that crashes under KVM on `vmlab start` comes back under TCG', { timeout: 60_000 }, async () => {
    const t = fakeHost(26400, { FAKE_KVM: 'works' });
    assert.equal((await vmlab(['deploy', '-S', t.dir], t.env)).code, 0);
    assert.equal((await vmlab(['stop', '--force', 'r1'], t.env)).code, 0);
    const env = { ...t.env, FAKE_KVM: 'run', FAKE_CRASH_MS: '200' };
    const r = await vmlab(['start', 'r1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /KVM crashed r1 .* starting r1 again under TCG/);
    const s = await statusOf(t);
    assert.equal(s.nodes[0].status, 'running');
    assert.equal((await vmlab(['destroy'], t.env)).code, 0);
  });
});

describe('a VM that fails during boot fails its node within seconds, not at the boot timeout', () => {
  for (const [guest, words] of [
    ['panic', /r[12]: the guest kernel panicked 0\.\d s into its boot/],
    ['poweroff', /r[12]: the guest shut itself down 0\.\d s into its boot/],
  ] as const) {
    it(`guest ${guest}`, { timeout: 60_000 }, async () => {
      const t = fakeHost(guest === 'panic' ? 26500 : 26600, {
        FAKE_KVM: 'reset',
        FAKE_GUEST: guest,
        FAKE_BOOT_MS: '600',
      });
      const started = Date.now();
      const r = await vmlab(['deploy', '-S', t.dir], t.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, words);
      assert.match(r.stderr, /next: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms (boot timeout is 20 s)`);
      assert.deepEqual(findQemusUnder(t.labDir), []);
    });
  }
});
