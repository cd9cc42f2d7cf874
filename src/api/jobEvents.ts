import type { JobRecord } from '../service/index.js';

/** One Server-Sent Event. */
export interface JobEvent {
  event: 'progress' | 'log' | 'end';
  data: Record<string, unknown>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

const parseDetail = (s: string): Record<string, unknown> => {
  try {
    const d = JSON.parse(s) as unknown;
    return d && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

/**
 * What changed in a job since the last look, as events (pure: the SSE
 * route polls the record and sends these): progress with bytes, total,
 * speed and ETA (a build's step); each new log line; and, once the job is over, `end`
 * with its outcome.
 */
export class JobDelta {
  private progressKey = '';
  private logLength = 0;
  private ended = false;

  next(job: JobRecord): JobEvent[] {
    if (this.ended) return [];
    const out: JobEvent[] = [];
    const key = `${job.status}|${job.progress}|${job.detail}`;
    if (key !== this.progressKey) {
      this.progressKey = key;
      const d = parseDetail(job.detail);
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      out.push({
        event: 'progress',
        data: {
          status: job.status,
          progress: job.progress,
          bytes: num(d.bytes),
          total: num(d.total),
          bytes_per_sec: num(d.bytesPerSec),
          eta_sec: num(d.etaSec),
          // Build jobs: the step they are at (docker build: step n of m).
          step: typeof d.step === 'string' ? d.step : null,
          step_n: num(d.n),
          step_of: num(d.of),
        },
      });
    }
    if (job.log.length > this.logLength) {
      const fresh = job.log.slice(this.logLength);
      const complete = fresh.lastIndexOf('\n') + 1;
      if (complete > 0) {
        for (const line of fresh.slice(0, complete).split('\n').slice(0, -1))
          out.push({ event: 'log', data: { line } });
        this.logLength += complete;
      }
    }
    if (TERMINAL.has(job.status)) {
      this.ended = true;
      out.push({
        event: 'end',
        data: { status: job.status, error: job.error, target: job.target, finished_at: job.finished_at },
      });
    }
    return out;
  }

  get done(): boolean {
    return this.ended;
  }
}

export const sseFrame = (e: JobEvent, id: number) =>
  `id: ${id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
