import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BuildError } from '../../src/builds/buildError.js';
import { buildInDeviceDir, buildLockFile, type BuildPlan } from '../../src/builds/vrnetlab/build.js';
import { askMakefile } from '../../src/builds/vrnetlab/askMakefile.js';
import { isAlive } from '../../src/host/processes.js';
import { writeVrnetlabFixture } from '../helpers/vrnetlabFixture.js';

/**
 * The build executor against a real make and a vrnetlab-shaped checkout,
 * with `docker build` replaced by a recipe (no Docker here): copy in,
 * limits, cancel, cleanup. The e2e test does the same with a real dockerd.
 */
function setup(dockerBuild: string): {
  plan: BuildPlan;
  deviceDir: string;
  lines: string[];
  ctx: { log: (l: string) => void; step: () => void; signal: AbortSignal };
  abort: AbortController;
} {
  const dir = mkdtempSync('/tmp/vmlab-vb-');
  const { deviceDir } = writeVrnetlabFixture(join(dir, 'vrnetlab'), { extraMake: `docker-build:\n${dockerBuild}\n` });
  const source = join(dir, 'lib-vJunos-router-23.2R1.15.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', source, '16M']);
  const plan: BuildPlan = {
    deviceDir,
    source,
    buildFile: 'vJunos-router-23.2R1.15.qcow2',
    goal: 'docker-image',
    allowHardLink: true,
    lockDir: join(dir, 'locks'),
    timeoutMs: 60_000,
    env: process.env,
  };
  const lines: string[] = [];
  const abort = new AbortController();
  return {
    plan,
    deviceDir,
    lines,
    abort,
    ctx: { log: (l) => lines.push(l), step: () => undefined, signal: abort.signal },
  };
}

const onlyFixture = (deviceDir: string) =>
  assert.deepEqual(
    readdirSync(deviceDir)
      .filter((f) => !f.endsWith('.pid'))
      .sort(),
    ['Makefile', 'docker'],
  );

describe('builds/vrnetlab/build (real make, docker build replaced)', () => {
  it('hard-links the disk in, reads the tag, removes the copy', async () => {
    const s = setup('\t@test -f $(IMAGE) && echo "Successfully tagged vrnetlab/juniper_vjunos-router:$(VERSION)"');
    const out = await buildInDeviceDir(s.plan, s.ctx);
    assert.equal(out.tag, 'vrnetlab/juniper_vjunos-router:23.2R1.15');
    assert.deepEqual(out.copy, { method: 'hardlink', bytesCopied: 0 });
    onlyFixture(s.deviceDir);
  });

  it('a family that writes into its disk gets a real copy (bytes counted), never a link', async () => {
    const s = setup('\t@echo "Successfully tagged vrnetlab/x:$(VERSION)"');
    const out = await buildInDeviceDir({ ...s.plan, allowHardLink: false }, s.ctx);
    assert.equal(out.copy.method, 'copy');
    assert.equal(out.copy.bytesCopied, statSync(s.plan.source).size);
  });

  it('make failing: exit code, the tail of its output, the copy removed', async () => {
    const s = setup('\t@echo "pull access denied for ghcr.io/srl-labs/vrnetlab-base"; exit 3');
    await assert.rejects(buildInDeviceDir(s.plan, s.ctx), (err: BuildError) => {
      assert.equal(err.code, 'make_failed');
      assert.match(err.message, /^exit code 2: make IMAGES=vJunos-router-23\.2R1\.15\.qcow2 docker-image in /);
      assert.match(err.message, /pull access denied/);
      assert.match(err.hint!, /FROM image is neither local nor pullable/);
      return true;
    });
    onlyFixture(s.deviceDir);
  });

  it('cancel stops make and what it started (the whole process group), and removes the copy', async () => {
    const s = setup('\tsleep 60 & echo $$! > sleeper.pid; wait');
    const t0 = Date.now();
    setTimeout(() => s.abort.abort(), 700);
    await assert.rejects(buildInDeviceDir(s.plan, s.ctx), (err: BuildError) => err.code === 'cancelled');
    assert.ok(Date.now() - t0 < 10_000, 'stopped promptly');
    const pid = Number(readFileSync(join(s.deviceDir, 'sleeper.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(isAlive(pid), false, 'the child of make is gone');
    onlyFixture(s.deviceDir);
  });

  it('the time limit: timed_out, the copy removed', async () => {
    const s = setup('\tsleep 60');
    await assert.rejects(
      buildInDeviceDir({ ...s.plan, timeoutMs: 500 }, s.ctx),
      (err: BuildError) => err.code === 'timed_out',
    );
    onlyFixture(s.deviceDir);
  });

  it("a file of someone else's in the way is a conflict and is left alone", async () => {
    const s = setup('\t@echo "Successfully tagged vrnetlab/x:1"');
    writeFileSync(join(s.deviceDir, s.plan.buildFile), 'theirs');
    await assert.rejects(
      buildInDeviceDir(s.plan, s.ctx),
      (err: BuildError) => err.code === 'copy_exists' && err.kind === 'conflict',
    );
    assert.equal(readFileSync(join(s.deviceDir, s.plan.buildFile), 'utf8'), 'theirs');
  });

  it('a copy left by a build whose process died is removed by the next build (the lock note names it)', async () => {
    const s = setup('\t@echo "Successfully tagged vrnetlab/x:$(VERSION)"');
    const left = join(s.deviceDir, 'vJunos-router-22.1R1.1.qcow2');
    writeFileSync(left, 'half');
    mkdirSync(s.plan.lockDir, { recursive: true });
    writeFileSync(`${buildLockFile(s.plan.lockDir, s.deviceDir)}.copy`, JSON.stringify({ files: [left] }));
    await buildInDeviceDir(s.plan, s.ctx);
    assert.equal(existsSync(left), false);
    assert.ok(s.lines.some((l) => /left by a build that was interrupted/.test(l)));
    assert.deepEqual(readdirSync(s.plan.lockDir), [], 'no lock and no note after a build');
  });

  it('askMakefile: the checkout answers version and tag; an unparsable name is their "Incorrect version string"', async () => {
    const s = setup('\t@true');
    assert.deepEqual(await askMakefile(s.deviceDir, 'vJunos-router-23.2R1.15.qcow2'), {
      ok: true,
      version: '23.2R1.15',
      tag: 'vrnetlab/juniper_vjunos-router:23.2R1.15',
    });
    assert.deepEqual(
      await askMakefile(s.deviceDir, 'vJunos-router-23.2R1.15.qcow2', {
        ...process.env,
        DOCKER_REGISTRY: 'reg.example:5000/lab',
      }),
      { ok: true, version: '23.2R1.15', tag: 'reg.example:5000/lab/juniper_vjunos-router:23.2R1.15' },
    );
    const bad = await askMakefile(s.deviceDir, 'vJunos-router-latest.qcow2');
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.versionless, true);
  });
});
