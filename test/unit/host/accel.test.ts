import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accelFacts, probeKvm, recordKvmCrash } from '../../../src/host/accel.js';
import { probeBootSector } from '../../../src/host/probeSector.js';
import { fakeQemuBinary } from '../../helpers/fakeQemuBin.js';

const qemu = fakeQemuBinary();

/** A temp "KVM device" the user can open, a cache file, and an environment for the fake. */
function host(fakeKvm: string, extra: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-accel-'));
  const kvmDevice = join(dir, 'kvm');
  writeFileSync(kvmDevice, '');
  const env = { ...process.env, FAKE_KVM: fakeKvm, VMLAB_ACCEL: '', ...extra };
  return { kvmDevice, cacheFile: join(dir, 'cache', 'accel.json'), env, qemuBinary: qemu };
}

describe('the boot sector the probe runs', () => {
  it('is one bootable 512-byte sector with its interrupt gate in place', () => {
    const s = probeBootSector();
    assert.equal(s.length, 512);
    assert.equal(s.readUInt16LE(510), 0xaa55);
    assert.equal(s[0], 0xfa); // cli
    assert.equal(s.readUInt16LE(0x60 + 0x30 * 8), 0x7c3e); // gate 0x30 → the iret at 0x7c3e
    assert.equal(s[0x3e], 0xcf); // iret
  });
});

describe('the KVM probe against each kind of host', () => {
  it('KVM working: the probe guest exits through isa-debug-exit', async () => {
    const r = await probeKvm(qemu, 5000, { ...process.env, FAKE_KVM: 'works' });
    assert.equal(r.verdict, 'kvm-works');
    assert.equal(r.conclusive, true);
  });

  it('KVM broken at vCPU reset: QEMU aborts, and the evidence quotes it', async () => {
    const r = await probeKvm(qemu, 5000, { ...process.env, FAKE_KVM: 'reset' });
    assert.equal(r.verdict, 'kvm-broken-at-reset');
    assert.match(r.evidence, /killed by SIGABRT.*failed to set MSR/);
    assert.equal(r.conclusive, true);
  });

  it('KVM broken at run: "KVM internal error" ends the probe at once, not at its timeout', async () => {
    const r = await probeKvm(qemu, 10_000, { ...process.env, FAKE_KVM: 'run', FAKE_CRASH_MS: '100' });
    assert.equal(r.verdict, 'kvm-broken-at-run');
    assert.match(r.evidence, /KVM internal error\. Suberror: 1/);
    assert.ok(r.ms < 3000, `took ${r.ms} ms`);
  });

  it('a QEMU that cannot be run is not a verdict to remember', async () => {
    const r = await probeKvm('/nonexistent/qemu-system-x86_64', 5000, process.env);
    assert.equal(r.conclusive, false);
  });
});

describe('the accelerator verdict', () => {
  it('no usable /dev/kvm: TCG without a probe, saying why', async () => {
    const h = host('works');
    const f = await accelFacts({ ...h, kvmDevice: '/nonexistent/kvm' });
    assert.equal(f.accel, 'tcg');
    assert.equal(f.verdict, 'no-kvm');
    assert.match(f.evidence[0]!, /does not exist/);
    assert.equal(existsSync(h.cacheFile), false);
  });

  it('is probed once, then read from the cache for the same host', async () => {
    const h = host('reset');
    const first = await accelFacts(h);
    assert.equal(first.source, 'probe');
    assert.equal(first.accel, 'tcg');
    assert.equal(first.verdict, 'kvm-broken-at-reset');
    const again = await accelFacts({ ...h, env: { ...h.env, FAKE_KVM: 'works' } });
    assert.equal(again.source, 'cache');
    assert.equal(again.verdict, 'kvm-broken-at-reset');
    assert.equal(JSON.parse(readFileSync(h.cacheFile, 'utf8')).verdict, 'kvm-broken-at-reset');
  });

  it('another QEMU binary is another host: probed again', async () => {
    const h = host('works');
    assert.equal((await accelFacts(h)).accel, 'kvm');
    const other = fakeQemuBinary();
    const f = await accelFacts({ ...h, qemuBinary: other, env: { ...h.env, FAKE_KVM: 'run', FAKE_CRASH_MS: '50' } });
    assert.equal(f.source, 'probe');
    assert.equal(f.verdict, 'kvm-broken-at-run');
  });

  it('a guest crash under KVM overrides a passing probe for this host', async () => {
    const h = host('works');
    assert.equal((await accelFacts(h)).accel, 'kvm');
    recordKvmCrash(h, 'guest r1 stopped with internal-error');
    const f = await accelFacts(h);
    assert.equal(f.accel, 'tcg');
    assert.equal(f.source, 'cache');
    assert.equal(f.verdict, 'kvm-broken-at-run');
    assert.match(f.evidence[0]!, /guest r1/);
  });

  it('VMLAB_ACCEL forces the choice and is never cached', async () => {
    const h = host('reset', { VMLAB_ACCEL: 'kvm' });
    const f = await accelFacts(h);
    assert.equal(f.accel, 'kvm');
    assert.equal(f.source, 'env');
    assert.equal(existsSync(h.cacheFile), false);
  });
});
