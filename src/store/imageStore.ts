import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';

export type ImageStatus = 'pending' | 'downloading' | 'verifying' | 'converting' | 'ready' | 'failed';

export interface ImageRecord {
  id: string;
  name: string;
  kind: 'qcow2' | 'docker';
  format: string | null;
  virtual_size: number | null;
  actual_size: number | null;
  sha256: string | null;
  os_family: string | null;
  os_distro: string | null;
  os_version: string | null;
  os_arch: string | null;
  default_user: string | null;
  cloud_init: number;
  /** JSON: what vmlab detected of a network-device disk (device, vrnetlab dir, tag or why not buildable). */
  net_device: string | null;
  /** Docker images: the reference (`vrnetlab/…:version`). */
  reference: string | null;
  device: string | null;
  version: string | null;
  /** Docker images: the id of the disk image it was built from. */
  built_from: string | null;
  /** Docker images: 1 for the one labs use for this device. */
  is_default: number;
  /** JSON (CheckpointFacts): a node's booted state saved with `vmlab images checkpoint`; labs start from it warm. */
  checkpoint: string | null;
  source_type: 'catalog' | 'url' | 'file' | 'scan' | 'build' | 'checkpoint';
  source: string;
  path: string | null;
  status: ImageStatus;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export type NewImage = Pick<ImageRecord, 'name' | 'source_type' | 'source'> &
  Partial<Omit<ImageRecord, 'id' | 'created_at' | 'updated_at'>>;

const now = () => new Date().toISOString();

/** The image table: plain statements, one place. */
export class ImageStore {
  constructor(private readonly db: Db) {}

  add(img: NewImage): ImageRecord {
    const rec: ImageRecord = {
      id: randomUUID().slice(0, 12),
      kind: 'qcow2',
      format: null,
      virtual_size: null,
      actual_size: null,
      sha256: null,
      os_family: null,
      os_distro: null,
      os_version: null,
      os_arch: null,
      default_user: null,
      cloud_init: 0,
      net_device: null,
      reference: null,
      device: null,
      version: null,
      built_from: null,
      is_default: 0,
      checkpoint: null,
      path: null,
      status: 'pending',
      error: null,
      created_at: now(),
      updated_at: now(),
      ...img,
    };
    const cols = Object.keys(rec);
    this.db.prepare(`INSERT INTO images (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(rec);
    return rec;
  }

  update(id: string, fields: Partial<Omit<ImageRecord, 'id' | 'created_at'>>): ImageRecord {
    const set = { ...fields, updated_at: now() };
    this.db
      .prepare(
        `UPDATE images SET ${Object.keys(set)
          .map((c) => `${c} = @${c}`)
          .join(', ')} WHERE id = @id`,
      )
      .run({ ...set, id });
    return this.get(id)!;
  }

  get(id: string): ImageRecord | undefined {
    return this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRecord | undefined;
  }

  /** By id, or by name. */
  find(ref: string): ImageRecord | undefined {
    return (
      (this.db.prepare('SELECT * FROM images WHERE id = ? OR name = ?').get(ref, ref) as ImageRecord | undefined) ??
      undefined
    );
  }

  list(): ImageRecord[] {
    return this.db.prepare('SELECT * FROM images ORDER BY name').all() as ImageRecord[];
  }

  /**
   * Records left in a busy state (pending, downloading, verifying,
   * converting) with no queued or running job on them: their process is
   * gone. They become `failed` (interrupted), which the same command resumes.
   * Reap dead jobs first. Returns the records as they were.
   */
  reapInterrupted(): ImageRecord[] {
    return this.db.transaction(() => {
      const stuck = this.db
        .prepare(
          `SELECT * FROM images WHERE status IN ('pending', 'downloading', 'verifying', 'converting')
             AND id NOT IN (SELECT target FROM jobs WHERE target IS NOT NULL AND status IN ('queued', 'running'))`,
        )
        .all() as ImageRecord[];
      for (const img of stuck) {
        this.update(img.id, {
          status: 'failed',
          error:
            `interrupted while ${img.status}: the vmlab process doing it is gone; ` +
            'run the same command again to resume',
        });
      }
      return stuck;
    })();
  }

  /**
   * Record a docker image built for a device (a rebuild of the same
   * reference updates it) and make it the device's default, in one transaction.
   */
  upsertDocker(
    img: Pick<
      ImageRecord,
      'reference' | 'device' | 'version' | 'built_from' | 'sha256' | 'actual_size' | 'net_device'
    > & { reference: string; device: string },
  ): ImageRecord {
    return this.db.transaction(() => {
      const fields = {
        ...img,
        kind: 'docker' as const,
        status: 'ready' as const,
        error: null,
        is_default: 1,
        source_type: 'build' as const,
        source: img.built_from ?? 'build',
      };
      const existing = this.find(img.reference);
      this.db
        .prepare("UPDATE images SET is_default = 0 WHERE kind = 'docker' AND device = ? AND name != ?")
        .run(img.device, img.reference);
      if (existing) {
        if (existing.kind !== 'docker')
          throw new Error(`an image named "${img.reference}" exists and is no docker image`);
        return this.update(existing.id, fields);
      }
      return this.add({ name: img.reference, ...fields });
    })();
  }

  remove(id: string): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }
}
