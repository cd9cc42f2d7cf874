import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StoreError } from './storeError.js';

export type Db = Database.Database;

/**
 * Versioned migrations: index i brings the schema from version i to i+1.
 * Append only; never edit a released step. `PRAGMA user_version` records
 * where a store is.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL DEFAULT 'qcow2',          -- qcow2 | docker
     format TEXT,
     virtual_size INTEGER,
     actual_size INTEGER,
     sha256 TEXT,
     os_family TEXT, os_distro TEXT, os_version TEXT, os_arch TEXT,
     default_user TEXT,
     cloud_init INTEGER NOT NULL DEFAULT 0,
     net_device TEXT,
     source_type TEXT NOT NULL,                   -- catalog | url | file | scan | build
     source TEXT NOT NULL,
     path TEXT,
     status TEXT NOT NULL,                        -- pending | downloading | verifying | converting | ready | failed
     error TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,                          -- download | import | convert | build …
     target TEXT,                                 -- what it works on (an image id)
     params TEXT NOT NULL DEFAULT '{}',
     status TEXT NOT NULL,                        -- queued | running | succeeded | failed | cancelled
     progress REAL NOT NULL DEFAULT 0,
     detail TEXT NOT NULL DEFAULT '{}',
     log TEXT NOT NULL DEFAULT '',
     error TEXT,
     cancel_requested INTEGER NOT NULL DEFAULT 0,
     pid INTEGER,
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT
   );
   CREATE INDEX jobs_status ON jobs(status);`,
  // Docker images built from a library disk (vrnetlab): what containerlab runs, per device.
  `ALTER TABLE images ADD COLUMN reference TEXT;            -- docker: the image reference ` +
    `(vrnetlab/cisco_c8000v:17.11.01a)
   ALTER TABLE images ADD COLUMN device TEXT;               -- network device id (c8000v, vjunos-router, …)
   ALTER TABLE images ADD COLUMN version TEXT;              -- the device's software version
   ALTER TABLE images ADD COLUMN built_from TEXT;           -- docker: id of the disk image it was built from
   ALTER TABLE images ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0; -- docker: the image labs use for this device`,
  // A booted node's saved state published as a library image (vmlab images checkpoint).
  `ALTER TABLE images ADD COLUMN checkpoint TEXT;           ` +
    `-- JSON: what it was saved with and on (lib/checkpointFacts)`,
];

/** Apply pending migrations; refuse a store written by a newer vmlab rather than guess. */
export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreError(
      'store_newer',
      `the vmlab store was written by a newer vmlab (schema ${current}, this vmlab knows ${MIGRATIONS.length})`,
      { hint: 'upgrade vmlab; nothing was changed in the store' },
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export const storePath = (root: string) => join(root, 'vmlab.db');

/**
 * The store and its WAL files are private (0600): they name every image and job. Existing ones are tightened on open.
 */
const STORE_MODE = 0o600;

function tighten(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(f).mode & 0o777) !== STORE_MODE) chmodSync(f, STORE_MODE);
    } catch (e) {
      // Gone, or not ours to change (another owner, a read-only file system): leave it.
      if (!['ENOENT', 'EPERM', 'EROFS'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }
}

/** Open (creating if needed) the store under the vmlab root, migrated. */
export function openStore(path: string): Db {
  mkdirSync(dirname(path), { recursive: true });
  // Create it 0600 before SQLite does: SQLite gives -wal and -shm the mode of the database file.
  closeSync(openSync(path, 'a', STORE_MODE));
  tighten(path);
  let db: Db;
  try {
    db = new Database(path);
  } catch (err) {
    throw new StoreError('store_unusable', `cannot open the vmlab store ${path}: ${(err as Error).message}`, {
      hint: 'check the file and its permissions; move it aside to start an empty library',
    });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  tighten(path);
  return db;
}

/**
 * The one handle on a state root's store, shared by every service of a
 * process: opened (and migrated) on first use, so a command that never
 * touches the library creates no vmlab.db.
 */
export interface StoreHandle {
  readonly path: string;
  /** Whether the store file is there already (or opened by this handle). */
  exists(): boolean;
  db(): Db;
}

export function storeHandle(root: string): StoreHandle {
  const path = storePath(root);
  let db: Db | undefined;
  return {
    path,
    exists: () => db !== undefined || existsSync(path),
    db: () => (db ??= openStore(path)),
  };
}
