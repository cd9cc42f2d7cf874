import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS, openStore } from '../../../src/store/database.js';
import { ImageStore } from '../../../src/store/imageStore.js';

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
    const a = images.add({ name: 'debian-12', source_type: 'catalog', source: 'debian-12', os_distro: 'debian', cloud_init: 1 });
    assert.equal(a.status, 'pending');
    assert.equal(images.find('debian-12')!.id, a.id);
    assert.equal(images.find(a.id)!.name, 'debian-12');
    const b = images.update(a.id, { status: 'ready', sha256: 'ab'.repeat(32) });
    assert.equal(b.status, 'ready');
    assert.throws(() => images.add({ name: 'debian-12', source_type: 'file', source: '/x' }), /UNIQUE/);
    images.remove(a.id);
    assert.equal(images.list().length, 0);
  });
});
