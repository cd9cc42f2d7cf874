import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/api/app.js';
import { createServices } from '../../src/service/index.js';
import { multipart } from '../api/fixture.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { importBaseImage, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { startRedis } from '../helpers/redis.js';
import { spawn } from 'node:child_process';
import { vmlabBin } from '../helpers/cli.js';
import { FIXTURE_BASE_IMAGE, writeVrnetlabFixture } from '../helpers/vrnetlabFixture.js';
import { loadSettings } from '../../src/host/settings.js';

const run = promisify(execFile);
const TAG = 'vrnetlab/juniper_vjunos-router:23.2R1.15';

interface Row {
  id: string;
  name: string;
  kind: string;
  reference: string | null;
  device: string | null;
  version: string | null;
  built_from: string | null;
  is_default: number;
  net_device: string | null;
}

/**
 * vrnetlab builds against a real dockerd (Debian docker.io) the test starts
 * on its own socket, and a vrnetlab-shaped checkout it writes: a disk named
 * like a real vJunos-router file goes in, a Docker image comes out.
 */
describe('e2e: vrnetlab builds with a real dockerd', { timeout: 600_000 }, () => {
  let dockerd: Dockerd | undefined;
  let skip: string | undefined;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let deviceDir: string;

  const disk = (name: string) => {
    const p = join(work, name);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', p, '16M']);
    return p;
  };
  const inDeviceDir = () => readdirSync(deviceDir).sort();
  const list = async () => JSON.parse((await vmlab(['images', 'list', '--json'], env)).stdout) as Row[];
  const inspect = (ref: string) =>
    run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { env }).then(
      (r) => r.stdout.trim(),
      () => undefined,
    );

  before(async () => {
    const started = await startDockerd();
    if (!started.dockerd) {
      skip = started.why;
      return;
    }
    dockerd = started.dockerd;
    await importBaseImage(dockerd, FIXTURE_BASE_IMAGE);
    work = tempHome();
    const fx = writeVrnetlabFixture(join(work, 'vrnetlab'));
    deviceDir = fx.deviceDir;
    // The docker 28 client on these machines has no buildx: the classic builder (its "Successfully tagged" output).
    env = { VMLAB_HOME: join(work, 'home'), VRNETLAB_PATH: fx.root, DOCKER_HOST: dockerd.host, DOCKER_BUILDKIT: '0' };
    mkdirSync(env.VMLAB_HOME!, { recursive: true });
  });

  after(async () => {
    await dockerd?.stop();
  });

  it('import of a device disk builds its image; docker finds the tag; the library lists the docker entry as default', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const t0 = Date.now();
    const r = await vmlab(['images', 'import', disk('vJunos-router-23.2R1.15.qcow2')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`built ${TAG.replace(/[.]/g, '\\.')} \\(default for vjunos-router\\)`));
    t.diagnostic(`import + build: ${Date.now() - t0} ms`);
    assert.match((await inspect(TAG)) ?? '', /^sha256:/, 'docker image inspect finds the tag');

    const rows = await list();
    const src = rows.find((i) => i.kind === 'qcow2')!;
    const built = rows.find((i) => i.kind === 'docker')!;
    assert.deepEqual(
      {
        name: built.name,
        reference: built.reference,
        device: built.device,
        version: built.version,
        built_from: built.built_from,
        is_default: built.is_default,
      },
      { name: TAG, reference: TAG, device: 'vjunos-router', version: '23.2R1.15', built_from: src.id, is_default: 1 },
    );
    assert.equal(JSON.parse(src.net_device!).tag, TAG);
    assert.deepEqual(inDeviceDir(), ['Makefile', 'docker'], 'the copy is gone');
    assert.deepEqual(
      readdirSync(join(deviceDir, 'docker')).sort(),
      ['Dockerfile', 'launch.py'],
      "make's own copy is gone",
    );

    const plain = await vmlab(['images', 'list'], env);
    assert.match(
      plain.stdout,
      /vrnetlab\/juniper_vjunos-router:23\.2R1\.15 +\S+ +docker +ready .*vjunos-router 23\.2R1\.15 \(default\)/,
    );
  });

  it('detect asks the checkout: tag for a good name, the rename for a near miss, the reason for no version', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const r = await vmlab(
      [
        'images',
        'detect',
        '--json',
        'vJunos-router-23.2R1.15.qcow2',
        'vJunos-router_24.2R1.3.qcow2',
        'vJunos-router-latest.qcow2',
        'FMCv.qcow2',
      ],
      env,
    );
    const out = JSON.parse(r.stdout) as Array<{
      file: string;
      buildable: boolean;
      tag?: string;
      build_file?: string;
      reason?: string;
    }>;
    assert.equal(out[0]!.tag, TAG);
    assert.deepEqual(
      [out[1]!.build_file, out[1]!.tag],
      ['vJunos-router-24.2R1.3.qcow2', 'vrnetlab/juniper_vjunos-router:24.2R1.3'],
    );
    assert.equal(out[2]!.buildable, false);
    assert.match(
      out[2]!.reason!,
      /Incorrect version string.*rename it to the form that directory expects \(for example vJunos-router-23\.2R1\.15\.qcow2\)/,
    );
    assert.equal(r.code, 1, 'some are not buildable');
  });

  it('a name with no parsable version fails with the reason before docker, and leaves no copy', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const imp = await vmlab(['images', 'import', disk('vJunos-router-latest.qcow2')], env);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /vjunos-router: no vrnetlab build: .*Incorrect version string/);
    const r = await vmlab(['images', 'build-docker', 'vJunos-router-latest'], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /error: vJunos-router-latest\.qcow2: juniper\/vjunosrouter\/Makefile: Incorrect version string/,
    );
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    assert.deepEqual(inDeviceDir(), ['Makefile', 'docker']);
  });

  it('a dead daemon is a clear error before anything is copied', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const r = await vmlab(['images', 'build-docker', 'vJunos-router-23.2R1.15'], {
      ...env,
      DOCKER_HOST: `unix://${join(work, 'nobody.sock')}`,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: the Docker daemon at DOCKER_HOST=unix:\/\/.*nobody\.sock does not answer/);
    assert.match(r.stderr, /next: start dockerd/);
    assert.deepEqual(inDeviceDir(), ['Makefile', 'docker']);
  });

  it('POST /images/{id}/build-docker runs the build as a job; a rebuild updates the same docker entry', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const services = createServices(loadSettings({ ...process.env, ...env }));
    const app = await buildApp(services, {
      token: 'e2e-token-vrnetlab-0123456789',
      maxUploadBytes: 1 << 26,
      logger: false,
    });
    try {
      const src = (await list()).find((i) => i.name === 'vJunos-router-23.2R1.15')!;
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/images/${src.id}/build-docker`,
        headers: { authorization: 'Bearer e2e-token-vrnetlab-0123456789' },
      });
      assert.equal(res.statusCode, 202, res.body);
      const jobId = (res.json() as { job_id: string }).job_id;
      await services.builds.outcome(jobId);
      const job = services.jobs.get(jobId);
      assert.equal(job.status, 'succeeded', job.error ?? '');
      assert.equal(job.kind, 'build');
      assert.match(job.log, /Successfully tagged vrnetlab\/juniper_vjunos-router:23\.2R1\.15/);
      assert.equal(JSON.parse(job.detail).step, 'done');
      const docker = (await list()).filter((i) => i.kind === 'docker');
      assert.equal(docker.length, 1, 'updated, not duplicated');

      const bad = await app.inject({
        method: 'POST',
        url: `/api/v1/images/vJunos-router-latest/build-docker`,
        headers: { authorization: 'Bearer e2e-token-vrnetlab-0123456789' },
      });
      assert.equal(bad.statusCode, 422);
      assert.equal((bad.json() as { error: { code: string } }).error.code, 'not_buildable');
    } finally {
      await app.close();
    }
  });

  it('an install-phase device on a host without working KVM is refused before anything is copied', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const c8k = join(env.VRNETLAB_PATH!, 'cisco', 'c8000v');
    mkdirSync(join(c8k, 'docker'), { recursive: true });
    writeFileSync(
      join(c8k, 'Makefile'),
      readFileSync(join(deviceDir, 'Makefile'), 'utf8')
        .replace('VENDOR=Juniper', 'VENDOR=cisco')
        .replace('NAME=vJunos-router', 'NAME=c8000v')
        .replace(
          /^VERSION=.*$/m,
          () => "VERSION=$(shell echo $(IMAGE) | sed -e 's/^.*serial\\.\\([0-9.]*[a-z]*\\)\\.qcow2$$/\\1/')",
        ),
    );
    const imp = await vmlab(
      ['images', 'import', '--no-build', disk('c8000v-universalk9_16G_serial.17.11.01a.qcow2')],
      env,
    );
    assert.equal(imp.code, 0, imp.stderr);
    const det = JSON.parse(
      (await vmlab(['images', 'detect', '--json', 'c8000v-universalk9_16G_serial.17.11.01a.qcow2'], env)).stdout,
    ) as Array<{ tag: string }>;
    assert.equal(det[0]!.tag, 'vrnetlab/cisco_c8000v:17.11.01a');
    const r = await vmlab(['images', 'build-docker', 'c8000v-universalk9_16G_serial.17.11.01a'], {
      ...env,
      VMLAB_ACCEL: 'tcg',
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: Cisco Catalyst 8000v: vrnetlab's build boots the VM under KVM \(install phase\), and this host has no working KVM/,
    );
    assert.deepEqual(readdirSync(c8k).sort(), ['Makefile', 'docker']);
  });

  it('an upload of a device disk answers with the build it queued', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const services = createServices(loadSettings({ ...process.env, ...env }));
    const app = await buildApp(services, {
      token: 'e2e-token-vrnetlab-0123456789',
      maxUploadBytes: 1 << 26,
      logger: false,
    });
    try {
      const body = multipart(
        { name: 'vjr-upload' },
        { name: 'vJunos-router-23.2R1.16.qcow2', data: readFileSync(disk('up.qcow2')) },
      );
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/images/upload',
        headers: { ...body.headers, authorization: 'Bearer e2e-token-vrnetlab-0123456789' },
        payload: body.payload,
      });
      assert.equal(res.statusCode, 201, res.body);
      const up = res.json() as { name: string; device: string; build_job?: string };
      assert.deepEqual([up.name, up.device], ['vjr-upload', 'vjunos-router']);
      assert.ok(up.build_job, 'a build was queued');
      const built = await services.builds.outcome(up.build_job)!;
      assert.equal(built.reference, 'vrnetlab/juniper_vjunos-router:23.2R1.16');
      assert.match((await inspect(built.reference)) ?? '', /^sha256:/);
      assert.equal(
        (await list()).find((i) => i.reference === 'vrnetlab/juniper_vjunos-router:23.2R1.16')?.is_default,
        1,
      );
      assert.equal(
        (await list()).find((i) => i.reference === TAG)?.is_default,
        0,
        'the newest build of a device is its default',
      );
    } finally {
      await app.close();
    }
  });

  it('the same build through a vmlab worker on Redis: enqueued by one process, run by the worker, log and outcome back', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const { redis, why } = await startRedis();
    if (!redis) return t.skip(`no redis-server: ${why}`);
    const renv = { ...env, VMLAB_REDIS_URL: redis.url };
    const worker = spawn(vmlabBin, ['worker', '--kinds', 'build'], {
      env: { ...process.env, NO_COLOR: '1', ...renv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let wout = '';
    worker.stdout!.on('data', (d: Buffer) => (wout += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (wout += d.toString()));
    try {
      const r = await vmlab(['-v', 'images', 'build-docker', 'vJunos-router-23.2R1.15'], renv);
      assert.equal(r.code, 0, `${r.stderr}\nworker: ${wout}`);
      assert.match(r.stdout, /built vrnetlab\/juniper_vjunos-router:23\.2R1\.15/);
      const id = /job (build\.[0-9a-f-]+)/.exec(r.stderr)?.[1];
      assert.ok(id, r.stderr);
      const show = JSON.parse((await vmlab(['jobs', 'show', '--json', id], renv)).stdout) as {
        status: string;
        log: string;
        detail: string;
      };
      assert.equal(show.status, 'succeeded');
      assert.match(show.log, /Successfully tagged vrnetlab\/juniper_vjunos-router:23\.2R1\.15/);
      assert.match(JSON.parse(show.detail).worker, new RegExp(`:${worker.pid}$`), 'run by the worker process');
      assert.match((await inspect(TAG)) ?? '', /^sha256:/);
      assert.deepEqual(inDeviceDir(), ['Makefile', 'docker']);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await redis.stop();
    }
    assert.match(wout, /taking build jobs from Redis/);
  });

  it('rm --docker removes the library entry and the Docker image', async (t) => {
    if (skip) return t.skip(`no dockerd: ${skip}`);
    const r = await vmlab(['images', 'rm', '--docker', TAG], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed the Docker image vrnetlab\/juniper_vjunos-router:23\.2R1\.15/);
    assert.equal(await inspect(TAG), undefined);
    assert.deepEqual(
      (await list()).filter((i) => i.reference === TAG),
      [],
    );
  });
});
