import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isAlive } from '../../src/host/processes.js';
import { tempHome, vmlab, vmlabBin } from '../helpers/cli.js';
import { writeVrnetlabFixture } from '../helpers/vrnetlabFixture.js';

/**
 * A build cancelled from another shell (`vmlab jobs cancel`) and by Ctrl-C:
 * make and what it started stop, the copy goes. `docker build` is replaced
 * by a sleep in the fixture's Makefile and `docker` by a script that only
 * answers `version` (the prechecks), so no daemon is needed here.
 */
function setup() {
  const work = tempHome();
  const { root, deviceDir } = writeVrnetlabFixture(join(work, 'vrnetlab'), {
    extraMake: 'docker-build:\n\tsleep 60 & echo $$! > sleeper.pid; wait\n',
  });
  mkdirSync(join(work, 'bin'));
  writeFileSync(join(work, 'bin', 'docker'), '#!/bin/sh\n[ "$1" = version ] && echo 20.10.24 && exit 0\nexit 1\n');
  chmodSync(join(work, 'bin', 'docker'), 0o755);
  const disk = join(work, 'vJunos-router-23.2R1.15.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
  const env = {
    VMLAB_HOME: join(work, 'home'),
    VRNETLAB_PATH: root,
    PATH: `${join(work, 'bin')}:${process.env.PATH}`,
    NO_COLOR: '1',
  };
  return { work, deviceDir, disk, env };
}

/** The build job, once make has started the (stand-in) docker build; its step shows in the record. */
async function runningBuild(env: NodeJS.ProcessEnv, deviceDir: string): Promise<string> {
  for (let i = 0; i < 150 && !readdirSync(deviceDir).includes('sleeper.pid'); i++)
    await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 400));
  const jobs = JSON.parse((await vmlab(['jobs', 'list', '--json'], env)).stdout) as Array<{
    id: string;
    kind: string;
    status: string;
    detail: string;
  }>;
  const b = jobs.find((j) => j.kind === 'build' && j.status === 'running');
  if (!b) throw new Error(`no running build: ${JSON.stringify(jobs)}`);
  assert.match(b.detail, /"step":"(make|clean|docker build)"/);
  return b.id;
}

const sleeperGone = (deviceDir: string) => {
  const pid = Number(readFileSync(join(deviceDir, 'sleeper.pid'), 'utf8'));
  return !isAlive(pid);
};

describe('cli: cancelling a vrnetlab build', { timeout: 120_000 }, () => {
  it('vmlab jobs cancel from another shell: build-docker fails as cancelled, make and its children are gone, no copy', async () => {
    const s = setup();
    assert.equal((await vmlab(['images', 'import', '--no-build', s.disk], s.env)).code, 0);
    const build = vmlab(['images', 'build-docker', 'vJunos-router-23.2R1.15'], s.env);
    const id = await runningBuild(s.env, s.deviceDir);
    assert.equal((await vmlab(['jobs', 'cancel', id], s.env)).code, 0);
    const r = await build;
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: build cancelled: make IMAGES=vJunos-router-23\.2R1\.15\.qcow2 docker-image in .* and the docker commands it ran were stopped/,
    );
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(sleeperGone(s.deviceDir), 'what make started is gone');
    assert.deepEqual(
      readdirSync(s.deviceDir)
        .filter((f) => f !== 'sleeper.pid')
        .sort(),
      ['Makefile', 'docker'],
    );
    const job = JSON.parse((await vmlab(['jobs', 'show', '--json', id], s.env)).stdout) as { status: string };
    assert.equal(job.status, 'cancelled');
  });

  it('Ctrl-C (SIGINT) of build-docker cancels its job and exits 130', async () => {
    const s = setup();
    assert.equal((await vmlab(['images', 'import', '--no-build', s.disk], s.env)).code, 0);
    const child = spawn(vmlabBin, ['images', 'build-docker', 'vJunos-router-23.2R1.15'], {
      env: { ...process.env, ...s.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const id = await runningBuild(s.env, s.deviceDir);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 130, err);
    assert.match(err, new RegExp(`stopping build job ${id}`));
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(sleeperGone(s.deviceDir));
    assert.deepEqual(
      readdirSync(s.deviceDir)
        .filter((f) => f !== 'sleeper.pid')
        .sort(),
      ['Makefile', 'docker'],
    );
  });
});
