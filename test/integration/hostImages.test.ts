import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { syncHostImages } from '../../src/service/hostImages.js';
import { storeHandle } from '../../src/store/database.js';
import { loadSpec } from '../../src/spec/loadSpec.js';
import { vmlab, vmlabBin } from '../helpers/cli.js';
import { writeSpecDir } from '../helpers/specDir.js';
import { tinyGuest } from '../helpers/tinyGuest.js';

/**
 * --all-hosts images: each "host" is a VMLAB_HOME of its own, reached
 * through a stand-in `ssh` that runs the command in a POSIX shell with that
 * home (what sshd would do on the machine); the real CLI imports there.
 */
describe('--all-hosts copies a library image to the hosts that lack it', { concurrency: false }, () => {
  const base = mkdtempSync('/tmp/vmlab-hi-');
  const home = (h: string) => join(base, h);
  const ssh = join(base, 'ssh');
  const opts = { ssh, bin: vmlabBin };
  let spec = '';
  const sha = async (h: string) =>
    JSON.parse((await vmlab(['images', 'show', 'tiny', '--json'], { VMLAB_HOME: home(h) })).stdout).sha256 as string;

  before(async () => {
    for (const h of ['here', '10.0.0.1', '10.0.0.2']) mkdirSync(home(h), { mode: 0o700 });
    writeFileSync(
      ssh,
      `#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done; shift\nexport VMLAB_HOME="${base}/$1"; shift\nexec sh -c "$1"\n`,
    );
    chmodSync(ssh, 0o755);
    const r = await vmlab(['images', 'import', await tinyGuest(), '--name', 'tiny'], { VMLAB_HOME: home('here') });
    assert.equal(r.code, 0, r.stderr);
    spec = writeSpecDir(
      {
        topology: { devices: { r1: {}, r2: {} }, vmlab: { hosts: { a: '10.0.0.1', b: '10.0.0.2' } } },
        profiles: { r1: { vm_host: 'a', vm_image: 'tiny' }, r2: { vm_host: 'b', vm_image: 'tiny' } },
      },
      'mh',
    );
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('copies it, verified by sha256, then leaves hosts that have it alone', { timeout: 120_000 }, async () => {
    const said: string[] = [];
    await syncHostImages(loadSpec(spec), storeHandle(home('here')), opts, {
      stdout: () => undefined,
      stderr: (l) => said.push(l),
    });
    const mine = await sha('here');
    assert.match(mine, /^[0-9a-f]{64}$/);
    assert.equal(await sha('10.0.0.1'), mine);
    assert.equal(await sha('10.0.0.2'), mine);
    assert.deepEqual(said, [
      `[a] image "tiny" missing: copying it there (sha256 ${mine.slice(0, 12)}…)`,
      `[b] image "tiny" missing: copying it there (sha256 ${mine.slice(0, 12)}…)`,
    ]);
    said.length = 0;
    await syncHostImages(loadSpec(spec), storeHandle(home('here')), opts, {
      stdout: () => undefined,
      stderr: (l) => said.push(l),
    });
    assert.deepEqual(said, []);
  });

  it('refuses a host holding a different image under the same name', { timeout: 60_000 }, async () => {
    rmSync(home('10.0.0.2'), { recursive: true });
    mkdirSync(home('10.0.0.2'), { mode: 0o700 });
    const raw = join(base, 'other.raw');
    writeFileSync(raw, Buffer.alloc(1024 * 1024));
    assert.equal((await vmlab(['images', 'import', raw, '--name', 'tiny'], { VMLAB_HOME: home('10.0.0.2') })).code, 0);
    const e = await syncHostImages(loadSpec(spec), storeHandle(home('here')), opts, {
      stdout: () => undefined,
      stderr: () => undefined,
    }).then(
      () => undefined,
      (x: unknown) => x as Error & { code: string },
    );
    assert.equal(e?.code, 'image_differs');
    assert.match(e!.message, /^host b has a different image named "tiny"/);
  });
});
