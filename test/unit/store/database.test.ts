import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS, openStore } from '../../../src/store/database.js';
import { ImageStore } from '../../../src/store/imageStore.js';
import { JobStore } from '../../../src/jobs/jobStore.js';
import { reapInterrupted } from '../../../src/jobs/reap.js';
import { isAlive } from '../../../src/host/processes.js';

const tempDb = () => join(mkdtempSync(join(tmpdir(), 'vmlab-db-')), 'vmlab.db');

describe('store', () => {
  it('migrates a new store to the latest schema, and is idempotent', () => {
    const path = tempDb();
    openStore(path).close();
    const db = openStore(path);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
  });

  it('refuses a store written by a newer vmlab, and leaves it untouched', () => {
    const path = tempDb();
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    raw.close();
    assert.throws(() => openStore(path), /written by a newer vmlab \(schema \d+, this vmlab knows \d+\)/);
    const again = new Database(path);
    assert.equal(again.pragma('user_version', { simple: true }), MIGRATIONS.length + 5);
    again.close();
  });

  it('adds, finds by name or id, updates and removes images', () => {
    const images = new ImageStore(openStore(tempDb()));
    const a = images.add({
      name: 'debian-12',
      source_type: 'catalog',
      source: 'debian-12',
      os_distro: 'debian',
      cloud_init: 1,
    });
    assert.equal(a.status, 'pending');
    assert.equal(images.find('debian-12')!.id, a.id);
    assert.equal(images.find(a.id)!.name, 'debian-12');
    const b = images.update(a.id, { status: 'ready', sha256: 'ab'.repeat(32) });
    assert.equal(b.status, 'ready');
    assert.throws(() => images.add({ name: 'debian-12', source_type: 'file', source: '/x' }), /UNIQUE/);
    images.remove(a.id);
    assert.equal(images.list().length, 0);
  });

  it('keeps the store and its WAL files private (0600), and tightens an existing store on open', () => {
    const path = tempDb();
    const mode = (f: string) => statSync(f).mode & 0o777;
    const db = openStore(path);
    new ImageStore(db).add({ name: 'a', source_type: 'file', source: '/a' });
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      assert.ok(existsSync(f), f);
      assert.equal(mode(f), 0o600, f);
    }
    db.close();
    // A store from an older vmlab, readable by everyone.
    const old = tempDb();
    writeFileSync(`${old}-wal`, '');
    new Database(old).close();
    chmodSync(old, 0o644);
    chmodSync(`${old}-wal`, 0o666);
    assert.equal(mode(old), 0o644);
    openStore(old).close();
    assert.equal(mode(old), 0o600);
    if (existsSync(`${old}-wal`)) assert.equal(mode(`${old}-wal`), 0o600);
  });

  it('reaps what a dead process left: running jobs fail (or are cancelled if asked), busy images fail, live ones stay', () => {
    const db = openStore(tempDb());
    const images = new ImageStore(db);
    const jobs = new JobStore(db);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const owned = (name: string, status: 'downloading' | 'converting', pid: number) => {
      const img = images.add({ name, source_type: 'url', source: `http://x/${name}`, status });
      const job = jobs.create('download', img.id);
      db.prepare("UPDATE jobs SET status = 'running', pid = ? WHERE id = ?").run(pid, job.id);
      return { img, job };
    };
    const a = owned('a', 'downloading', Number(dead));
    const b = owned('b', 'converting', Number(dead));
    jobs.requestCancel(b.job.id);
    const live = owned('c', 'downloading', process.pid);
    const orphan = images.add({ name: 'd', source_type: 'file', source: '/d', status: 'verifying' }); // no job at all
    const ready = images.add({ name: 'e', source_type: 'file', source: '/e', status: 'ready' });

    const r = reapInterrupted(db, isAlive);
    assert.deepEqual(r.jobs.map((j) => j.id).sort(), [a.job.id, b.job.id].sort());
    assert.deepEqual(r.images.map((i) => i.name).sort(), ['a', 'b', 'd']);
    assert.equal(jobs.get(a.job.id)!.status, 'failed');
    assert.match(jobs.get(a.job.id)!.error!, new RegExp(`interrupted: its process \\(pid ${dead}\\) is gone`));
    assert.equal(jobs.get(b.job.id)!.status, 'cancelled');
    assert.equal(jobs.get(live.job.id)!.status, 'running');
    for (const n of ['a', 'b', 'd']) {
      assert.equal(images.find(n)!.status, 'failed', n);
      assert.match(
        images.find(n)!.error!,
        /^interrupted while (downloading|converting|verifying): .*run the same command again to resume$/,
      );
    }
    assert.equal(images.find('c')!.status, 'downloading');
    assert.equal(images.get(ready.id)!.status, 'ready');
    assert.equal(images.get(orphan.id)!.status, 'failed');
    assert.deepEqual(reapInterrupted(db, isAlive), { jobs: [], images: [] }, 'idempotent');
  });
});
