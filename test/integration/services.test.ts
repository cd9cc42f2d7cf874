import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { VmlabError } from '../../src/errors/vmlabError.js';
import { createServices } from '../../src/service/index.js';
import { SpecError } from '../../src/spec/specError.js';
import { tempHome } from '../helpers/cli.js';
import { loadSettings } from '../../src/host/settings.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settled(svc: ReturnType<typeof createServices>, id: string) {
  for (let i = 0; i < 200; i++) {
    const j = svc.jobs.get(id);
    if (!['queued', 'running'].includes(j.status)) return j;
    await sleep(50);
  }
  throw new Error(`job ${id} did not finish`);
}

describe('the service layer both front doors call', () => {
  it('jobs.run queues work under the concurrency limit; a job cancelled while queued never starts', async () => {
    const svc = createServices(loadSettings({ ...process.env, VMLAB_HOME: tempHome(), VMLAB_JOB_CONCURRENCY: '1' }));
    let release!: () => void;
    const first = svc.jobs.run('test', null, {}, () => new Promise<void>((r) => (release = r)));
    const ran: string[] = [];
    const second = svc.jobs.run('test', null, {}, async () => void ran.push('second'));
    const third = svc.jobs.run('test', null, {}, async () => void ran.push('third'));
    await sleep(50);
    assert.equal(svc.jobs.get(first.job.id).status, 'running');
    assert.equal(svc.jobs.get(second.job.id).status, 'queued');
    assert.equal(svc.jobs.cancel(third.job.id).outcome, 'cancelled');
    release();
    await first.done;
    await second.done;
    await assert.rejects(third.done, (e: VmlabError) => e.code === 'cancelled');
    assert.deepEqual(ran, ['second']);
    assert.equal(svc.jobs.get(third.job.id).status, 'cancelled');
  });

  it('a malformed numeric setting in the environment is a clear input error, not a silent default', () => {
    assert.throws(
      () => createServices(loadSettings({ ...process.env, VMLAB_HOME: tempHome(), VMLAB_JOB_CONCURRENCY: 'lots' })),
      (e: VmlabError) =>
        e.kind === 'input' &&
        e.message === 'VMLAB_JOB_CONCURRENCY="lots": expected a whole number ≥ 1' &&
        e.hint === 'fix or unset VMLAB_JOB_CONCURRENCY',
    );
    // Settings are checked once, when they are loaded: the download settings too, before any library is opened.
    assert.throws(
      () =>
        createServices(
          loadSettings({ ...process.env, VMLAB_HOME: tempHome(), VMLAB_DOWNLOAD_ATTEMPTS: '0' }),
        ).images.list(),
      (e: VmlabError) =>
        e.kind === 'input' && /VMLAB_DOWNLOAD_ATTEMPTS="0": expected a whole number ≥ 1/.test(e.message),
    );
  });

  it('images.startImport answers with the job at once; the image is ready when it ends; update renames it', async () => {
    const home = tempHome();
    const svc = createServices(loadSettings({ ...process.env, VMLAB_HOME: home }));
    const file = join(home, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
    const job = await svc.images.startImport(file, { name: 'disk' });
    assert.equal(job.kind, 'import');
    assert.equal((await settled(svc, job.id)).status, 'succeeded');
    assert.equal(svc.images.show('disk').status, 'ready');
    assert.equal(
      svc.images.update('disk', { name: 'disk2', os_distro: 'debian', os_version: '12', default_user: 'debian' }).name,
      'disk2',
    );
    assert.throws(
      () => svc.images.update('nope', { name: 'x' }),
      (e: VmlabError) => e.kind === 'not_found',
    );
    assert.throws(
      () => svc.images.update('disk2', { name: '../x' }),
      (e: VmlabError) => e.kind === 'input',
    );
  });

  it('images.importUpload moves an upload in; a refused one leaves nothing', async () => {
    const home = tempHome();
    const svc = createServices(loadSettings({ ...process.env, VMLAB_HOME: home }));
    const up = join(svc.images.uploadDir(), 'a.download');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', up, '16M']);
    const img = await svc.images.importUpload(up, { name: 'up1' });
    assert.equal(img.status, 'ready');
    assert.equal(existsSync(up), false);
    const bad = join(svc.images.uploadDir(), 'b.download');
    writeFileSync(bad, 'this is not a disk image');
    await assert.rejects(svc.images.importUpload(bad, { name: 'up2' }), (e: VmlabError) => e.kind === 'input');
    assert.deepEqual(readdirSync(svc.images.uploadDir()), []);
    assert.throws(
      () => svc.images.show('up2'),
      (e: VmlabError) => e.kind === 'not_found',
    );
    // A half upload of a server that was killed (its pid is in the name) goes when the next upload starts.
    const half = join(svc.images.uploadDir(), '999999999-killed.upload');
    const live = join(svc.images.uploadDir(), `${process.ppid}-streaming.upload`);
    writeFileSync(half, 'half');
    writeFileSync(live, 'still arriving');
    const next = svc.images.newUploadPath();
    assert.match(next, new RegExp(`/${process.pid}-[0-9a-f-]+\\.upload$`));
    assert.equal(existsSync(half), false);
    assert.equal(existsSync(live), true);
  });

  it('labs.startDeploy refuses a bad inline spec before any job, with file and JSON path', async () => {
    const svc = createServices(loadSettings({ ...process.env, VMLAB_HOME: tempHome() }));
    const before = svc.jobs.list().length;
    await assert.rejects(
      svc.labs.startDeploy({
        name: 'inl',
        topology: { devices: { r1: {} }, vmlab: { link_transport: 'carrier-pigeon' } },
      }),
      (e: SpecError) =>
        e instanceof SpecError && e.issues.some((i) => i.file === 'topology.json' && i.path === 'vmlab.link_transport'),
    );
    assert.equal(svc.jobs.list().length, before);
    await assert.rejects(
      svc.labs.startDeploy({ name: '../up', topology: {} }),
      (e: VmlabError) => e.code === 'invalid_name',
    );
  });
});
