import type { Transfer } from './format.js';
import type { Job } from './types.js';
import { stepLabel } from './netDevice.js';

/*
 * A job as the UI follows it: the record's first look, then the server's
 * SSE events (progress, log, end) folded in. Pure reducer (unit-tested);
 * the hook in features/jobs owns the EventSource.
 */

export type JobStatus = Job['status'];

export interface JobView extends Transfer {
  id: string;
  status: JobStatus;
  log: string[];
  error: string | null;
  /** A build's step ("docker build 3/7"), '' when the job has none. */
  step: string;
  /** No more events will come. */
  over: boolean;
  /** The stream broke before `end`: the UI reconnects or shows it. */
  lost: boolean;
}

export type JobAction =
  | {
      type: 'snapshot';
      job: { id: string; status: JobStatus; progress: number; detail: string; log: string; error: string | null };
    }
  | {
      type: 'progress';
      data: {
        status: JobStatus;
        progress: number;
        bytes: number | null;
        total: number | null;
        bytes_per_sec: number | null;
        eta_sec: number | null;
        step?: string | null;
        step_n?: number | null;
        step_of?: number | null;
      };
    }
  | { type: 'log'; data: { line: string } }
  | { type: 'end'; data: { status: JobStatus; error: string | null } }
  | { type: 'lost' };

const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
export const isOver = (s: JobStatus) => TERMINAL.has(s);

export function initialJob(id: string): JobView {
  return {
    id,
    status: 'queued',
    progress: 0,
    bytes: null,
    total: null,
    bytesPerSec: null,
    etaSec: null,
    log: [],
    error: null,
    step: '',
    over: false,
    lost: false,
  };
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function detailOf(text: string): Record<string, unknown> {
  try {
    const d = JSON.parse(text) as unknown;
    return d && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function jobReducer(state: JobView, action: JobAction): JobView {
  // After `end` the job is what it ended as: a late snapshot or event does not revive it.
  if (state.over && action.type !== 'snapshot') return state;
  switch (action.type) {
    case 'snapshot': {
      const { job } = action;
      if (state.over && job.id === state.id) return state;
      const d = detailOf(job.detail);
      const over = isOver(job.status);
      return {
        id: job.id,
        status: job.status,
        progress: over && job.status === 'succeeded' ? 1 : job.progress,
        bytes: num(d.bytes),
        total: num(d.total),
        bytesPerSec: num(d.bytesPerSec),
        etaSec: num(d.etaSec),
        // The stream resends the log from its start: keep the snapshot's lines out of the way of it.
        log: [],
        error: job.error,
        step: stepLabel(typeof d.step === 'string' ? d.step : null, num(d.n), num(d.of)),
        over,
        lost: false,
      };
    }
    case 'progress': {
      const d = action.data;
      // Progress never goes backwards within one job (a retry restarts bytes, not the bar).
      return {
        ...state,
        status: d.status,
        progress: Math.max(state.progress, d.progress),
        bytes: d.bytes,
        total: d.total,
        bytesPerSec: d.bytes_per_sec,
        etaSec: d.eta_sec,
        step: d.step === undefined ? state.step : stepLabel(d.step, d.step_n, d.step_of),
        lost: false,
      };
    }
    case 'log':
      return { ...state, log: [...state.log, action.data.line].slice(-500) };
    case 'end':
      return {
        ...state,
        status: action.data.status,
        error: action.data.error,
        progress: action.data.status === 'succeeded' ? 1 : state.progress,
        etaSec: null,
        over: true,
        lost: false,
      };
    case 'lost':
      return { ...state, lost: true };
  }
}
