import { useEffect } from 'react';
import { JobProgress } from '../../../components/JobProgress.js';
import { useFollowJob } from '../../../lib/followJob.js';

/** One catalog pull the wizard waits for: its bar, and its outcome reported up once. */
function PullRow({ id, jobId, onOver }: { id: string; jobId: string; onOver: (id: string, ok: boolean) => void }) {
  const job = useFollowJob(jobId, [['images']]);
  const over = job?.over ?? false;
  const ok = job?.status === 'succeeded';
  useEffect(() => {
    if (over) onOver(id, ok);
  }, [over, ok, id, onOver]);
  return (
    <div>
      <strong>{id}</strong>
      {job ? <JobProgress job={job} /> : null}
    </div>
  );
}

export function PullsFirst({
  pulls,
  onOver,
}: {
  pulls: Array<{ id: string; jobId: string }>;
  onOver: (id: string, ok: boolean) => void;
}) {
  return (
    <div className="panel">
      <h3>Downloading the catalog images first</h3>
      {pulls.map((p) => (
        <PullRow key={p.jobId} id={p.id} jobId={p.jobId} onOver={onOver} />
      ))}
    </div>
  );
}
