import { progressLine } from '../lib/format.js';
import type { JobView } from '../lib/jobState.js';
import { ProgressBar } from './ProgressBar.js';

const WORD: Record<string, string> = {
  queued: 'queued',
  running: '',
  succeeded: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** A followed job's bar: a build's step, percent, bytes, speed, ETA; its outcome once over; a Cancel while it runs. */
export function JobProgress({ job, onCancel }: { job: JobView; onCancel?: () => void }) {
  const tone =
    job.status === 'succeeded' ? 'ok' : job.status === 'failed' || job.status === 'cancelled' ? 'bad' : 'busy';
  const word = WORD[job.status];
  const label = `${job.step ? `${job.step} · ` : ''}${progressLine(job)}${word ? ` · ${word}` : ''}${job.lost ? ' · reconnecting…' : ''}`;
  return (
    <div className="job-progress">
      <ProgressBar progress={job.progress} label={label} tone={tone} />
      {job.error ? <div className="error small">{job.error}</div> : null}
      {onCancel && !job.over ? (
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      ) : null}
    </div>
  );
}
