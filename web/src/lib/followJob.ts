import { useEffect, useReducer } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, enc, withTicket } from './api.js';
import { initialJob, jobReducer, type JobAction, type JobView } from './jobState.js';
import type { Job } from './types.js';

/**
 * Follow a job: its record once, then its SSE stream (progress, log,
 * end), opened with a single-use ticket (EventSource sends no headers). A stream that breaks before `end` is opened again after a pause
 * (EventSource would retry by itself, but the server closes the stream at
 * `end`, a retry then would replay it, and its ticket is spent). When the job ends, the lists
 * it changed are fetched again.
 */
export function useFollowJob(jobId: string | undefined, invalidate: string[][] = []): JobView | undefined {
  const [state, dispatch] = useReducer(jobReducer, undefined, () => initialJob(jobId ?? ''));
  const qc = useQueryClient();
  const keys = JSON.stringify(invalidate);
  useEffect(() => {
    if (!jobId) return;
    let closed = false;
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const on = (a: JobAction) => {
      if (!closed) dispatch(a);
    };
    const lost = () => {
      if (closed) return;
      on({ type: 'lost' });
      retry = setTimeout(open, 2000);
    };
    const open = () => void withTicket(`/jobs/${enc(jobId)}/events`).then(listen, lost);
    const listen = (url: string) => {
      if (closed) return;
      source = new EventSource(url);
      source.addEventListener('progress', (e) =>
        on({ type: 'progress', data: JSON.parse((e as MessageEvent<string>).data) }),
      );
      source.addEventListener('log', (e) => on({ type: 'log', data: JSON.parse((e as MessageEvent<string>).data) }));
      source.addEventListener('end', (e) => {
        on({ type: 'end', data: JSON.parse((e as MessageEvent<string>).data) });
        source?.close();
        for (const k of JSON.parse(keys) as string[][]) void qc.invalidateQueries({ queryKey: k });
        void qc.invalidateQueries({ queryKey: ['jobs'] });
      });
      source.onerror = () => {
        source?.close();
        lost();
      };
    };
    api<Job>(`/jobs/${enc(jobId)}`)
      .then((job) => {
        on({ type: 'snapshot', job });
        open();
      })
      .catch(() => on({ type: 'lost' }));
    return () => {
      closed = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [jobId, keys, qc]);
  return jobId && state.id === jobId ? state : undefined;
}
