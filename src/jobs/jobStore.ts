import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  kind: string;
  target: string | null;
  params: string;
  status: JobStatus;
  progress: number;
  detail: string;
  log: string;
  error: string | null;
  cancel_requested: number;
  pid: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const now = () => new Date().toISOString();

/** Jobs persisted beside the images: progress, log and cancel survive the process that runs them. */
export class JobStore {
  constructor(private readonly db: Db) {}

  /** A new queued job; `owner` is the process that will run it (a server's queue), so a dead one's queue is reaped. */
  create(
    kind: string,
    target: string | null,
    params: Record<string, unknown> = {},
    owner: number | null = null,
  ): JobRecord {
    const job: JobRecord = {
      id: randomUUID().slice(0, 12),
      kind,
      target,
      params: JSON.stringify(params),
      status: 'queued',
      progress: 0,
      detail: '{}',
      log: '',
      error: null,
      cancel_requested: 0,
      pid: owner,
      created_at: now(),
      started_at: null,
      finished_at: null,
    };
    const cols = Object.keys(job);
    this.db.prepare(`INSERT INTO jobs (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(job);
    return job;
  }

  get(id: string): JobRecord | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRecord | undefined;
  }

  list(limit = 50): JobRecord[] {
    return this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?').all(limit) as JobRecord[];
  }

  start(id: string): void {
    this.db
      .prepare("UPDATE jobs SET status = 'running', started_at = ?, pid = ? WHERE id = ?")
      .run(now(), process.pid, id);
  }

  progress(id: string, progress: number, detail: Record<string, unknown>): void {
    this.db.prepare('UPDATE jobs SET progress = ?, detail = ? WHERE id = ?').run(progress, JSON.stringify(detail), id);
  }

  log(id: string, line: string): void {
    this.db.prepare('UPDATE jobs SET log = log || ? WHERE id = ?').run(`${now()} ${line}\n`, id);
  }

  finish(id: string, status: Exclude<JobStatus, 'queued' | 'running'>, error: string | null = null): void {
    this.db
      .prepare(
        'UPDATE jobs SET status = ?, error = ?, finished_at = ?, ' +
          "progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END WHERE id = ?",
      )
      .run(status, error, now(), status, id);
  }

  requestCancel(id: string): boolean {
    return (
      this.db.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status IN ('queued', 'running')").run(id)
        .changes > 0
    );
  }

  /**
   * Cancel a job: one that is still queued, or whose process is gone, is
   * cancelled here and now; a running one is asked to stop (it polls the flag).
   */
  cancel(id: string, isAlive: (pid: number) => boolean): 'cancelled' | 'requested' | 'not-active' {
    return this.db
      .transaction(() => {
        const j = this.get(id);
        if (!j || (j.status !== 'queued' && j.status !== 'running')) return 'not-active' as const;
        const dead = j.status === 'running' && (j.pid === null || (j.pid !== process.pid && !isAlive(j.pid)));
        if (j.status === 'queued' || dead) {
          const why = dead
            ? `cancelled; its process${j.pid !== null ? ` (pid ${j.pid})` : ''} was gone`
            : 'cancelled before it started';
          this.db
            .prepare(
              "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, error = ?, finished_at = ? " +
                'WHERE id = ? AND status = ?',
            )
            .run(why, now(), id, j.status);
          return 'cancelled' as const;
        }
        this.requestCancel(id);
        return 'requested' as const;
      })
      .immediate();
  }

  /** The running job on `target` whose process is alive, if any. */
  activeFor(target: string, isAlive: (pid: number) => boolean): JobRecord | undefined {
    // A queued job records its owner too: it holds its target as firmly as a running one.
    const rows = this.db
      .prepare("SELECT * FROM jobs WHERE target = ? AND status IN ('running', 'queued') ORDER BY created_at DESC")
      .all(target) as JobRecord[];
    return rows.find((j) => j.pid !== null && (j.pid === process.pid || isAlive(j.pid)));
  }

  /**
   * Jobs left `running` by a process that is gone (kill -9, a crash, a
   * reboot) are finished: `cancelled` if someone asked for that, else
   * `failed` as interrupted. Returns them.
   */
  reapDead(isAlive: (pid: number) => boolean): JobRecord[] {
    const active = this.db.prepare("SELECT * FROM jobs WHERE status IN ('running', 'queued')").all() as JobRecord[];
    const gone = (pid: number | null) => pid !== null && pid !== process.pid && !isAlive(pid);
    // A running job without a pid has no owner left; a queued one without a pid is owned by whoever runs it next.
    const dead = active.filter((j) => (j.status === 'running' ? j.pid === null || gone(j.pid) : gone(j.pid)));
    const mark = this.db.prepare(
      'UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = ? AND pid IS ?',
    );
    const reaped: JobRecord[] = [];
    this.db.transaction(() => {
      for (const j of dead) {
        const status = j.cancel_requested ? 'cancelled' : 'failed';
        const owner = `its process${j.pid !== null ? ` (pid ${j.pid})` : ''} is gone`;
        const error =
          j.status === 'queued'
            ? `never started: ${owner}; ask for it again`
            : `interrupted: ${owner}; run the same command again to resume`;
        if (mark.run(status, error, now(), j.id, j.status, j.pid).changes > 0) reaped.push({ ...j, status, error });
      }
    })();
    return reaped;
  }

  cancelRequested(id: string): boolean {
    return (
      (
        this.db.prepare('SELECT cancel_requested FROM jobs WHERE id = ?').get(id) as
          | { cancel_requested: number }
          | undefined
      )?.cancel_requested === 1
    );
  }
}
