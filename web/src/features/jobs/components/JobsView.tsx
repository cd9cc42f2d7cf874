import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../../lib/api.js';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { ProgressBar } from '../../../components/ProgressBar.js';
import { useCancelJob, useJobs } from '../../../lib/jobs.js';
import { progressLine } from '../../../lib/format.js';
import { isOver } from '../../../lib/jobState.js';
import type { Image, Job } from '../../../lib/types.js';

function transferOf(j: Job) {
  let d: Record<string, unknown> = {};
  try {
    d = JSON.parse(j.detail) as Record<string, unknown>;
  } catch {
    // no detail
  }
  const n = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    progress: j.status === 'succeeded' ? 1 : j.progress,
    bytes: n(d.bytes),
    total: n(d.total),
    bytesPerSec: n(d.bytesPerSec),
    etaSec: n(d.etaSec),
  };
}

/** Every job, newest first (the server's and the CLI's): progress, state, log, cancel. */
export function JobsView() {
  const jobs = useJobs();
  const cancel = useCancelJob();
  const [open, setOpen] = useState<string>();
  // Image jobs name the image by its id: shown by name (same cache entry as the library's list).
  const images = useQuery({ queryKey: ['images'], queryFn: () => api<Image[]>('/images') });
  const nameOf = (target: string | null) => images.data?.find((i) => i.id === target)?.name ?? target ?? '—';
  return (
    <section>
      <h2>Jobs</h2>
      <ErrorBox error={jobs.error ?? cancel.error} />
      {jobs.data && jobs.data.length === 0 ? (
        <p className="muted">No jobs yet: downloads, imports and deploys show here.</p>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>Target</th>
              <th>Progress</th>
              <th>State</th>
              <th>Started</th>
              <th aria-label="actions" />
            </tr>
          </thead>
          <tbody>
            {(jobs.data ?? []).map((j) => (
              <JobRow
                key={j.id}
                job={j}
                target={nameOf(j.target)}
                open={open === j.id}
                onToggle={() => setOpen(open === j.id ? undefined : j.id)}
                onCancel={() => cancel.mutate(j.id)}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function JobRow({
  job,
  target,
  open,
  onToggle,
  onCancel,
}: {
  job: Job;
  target: string;
  open: boolean;
  onToggle: () => void;
  onCancel: () => void;
}) {
  const t = transferOf(job);
  const tone =
    job.status === 'succeeded' ? 'ok' : job.status === 'failed' || job.status === 'cancelled' ? 'bad' : 'busy';
  return (
    <>
      <tr>
        <td>{job.kind}</td>
        <td>{target}</td>
        <td className="wide">
          <ProgressBar progress={t.progress} label={progressLine(t)} tone={tone} />
        </td>
        <td>
          <span className={`badge ${tone}`}>{job.status}</span>
          {job.error ? <div className="error small">{job.error}</div> : null}
        </td>
        <td>{new Date(job.created_at).toLocaleString()}</td>
        <td className="row-actions">
          <button type="button" onClick={onToggle} aria-expanded={open}>
            Log
          </button>
          {!isOver(job.status) ? (
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          ) : null}
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={6}>
            <pre className="log">{job.log || '(no log lines)'}</pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}
