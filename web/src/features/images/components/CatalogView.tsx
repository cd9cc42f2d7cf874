import { useEffect, useMemo, useState } from 'react';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { JobProgress } from '../../../components/JobProgress.js';
import { useFollowJob } from '../../../lib/followJob.js';
import { useCancelJob, useJobs } from '../../../lib/jobs.js';
import type { CatalogEntry, Image, Job } from '../../../lib/types.js';
import { usePull, useCatalog } from '../api/catalog.js';
import { useImages } from '../api/images.js';
import { DistroMark } from './DistroMark.js';
import { ImageTabs } from './ImageTabs.js';

/** The running download of an entry, found among the jobs by its URL: so a reload follows it again. */
function activePull(entry: CatalogEntry, jobs: Job[] | undefined): Job | undefined {
  return jobs?.find(
    (j) =>
      j.kind === 'download' &&
      (j.status === 'queued' || j.status === 'running') &&
      j.params.includes(JSON.stringify(entry.url).slice(1, -1)),
  );
}

export function matches(e: CatalogEntry, q: string): boolean {
  const s = q.trim().toLowerCase();
  return !s || [e.name, e.distro, e.id, e.version].some((f) => f.toLowerCase().includes(s));
}

export function CatalogView() {
  const catalog = useCatalog();
  const [q, setQ] = useState('');
  const shown = useMemo(() => (catalog.data ?? []).filter((e) => matches(e, q)), [catalog.data, q]);
  return (
    <section>
      <ImageTabs current="catalog" />
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search by name or distribution"
          aria-label="search the catalog"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <span className="muted">{catalog.data ? `${shown.length} of ${catalog.data.length}` : ''}</span>
      </div>
      <ErrorBox error={catalog.error} />
      {catalog.isPending ? <p className="muted">Loading the catalog…</p> : null}
      <ul className="cards">
        {shown.map((e) => (
          <CatalogCard key={e.id} entry={e} />
        ))}
      </ul>
      {catalog.data && shown.length === 0 ? <p className="muted">Nothing matches “{q}”.</p> : null}
    </section>
  );
}

function CatalogCard({ entry }: { entry: CatalogEntry }) {
  const jobs = useJobs();
  const images = useImages();
  const pull = usePull();
  const cancel = useCancelJob();
  const running = activePull(entry, jobs.data);
  // Once found, the job stays followed after it leaves the running ones: its end (done, failed) stays shown.
  const [followed, setFollowed] = useState<string>();
  useEffect(() => {
    if (running && !followed) setFollowed(running.id);
  }, [running, followed]);
  const jobId = pull.data?.job_id ?? followed;
  const job = useFollowJob(jobId, [['images']]);
  const local: Image | undefined = images.data?.find((i) => i.name === entry.id && i.status === 'ready');
  const busy = Boolean(job && !job.over);
  return (
    <li className="card" data-testid={`catalog-${entry.id}`}>
      <div className="card-head">
        <DistroMark distro={entry.distro} />
        <div>
          <h3>{entry.name}</h3>
          <div className="muted">
            {entry.id} · {entry.arch} · user <code>{entry.defaultUser}</code>
            {entry.firmware ? ` · ${entry.firmware.toUpperCase()}` : ''}
          </div>
        </div>
      </div>
      <div className="badges">
        {entry.checksum ? (
          <span className="badge ok" title={`checked against ${entry.checksum.url}`}>
            verified
          </span>
        ) : null}
        {entry.cloudInit ? <span className="badge">cloud-init</span> : null}
        {local ? <span className="badge ok">in library</span> : null}
      </div>
      {job ? <JobProgress job={job} {...(jobId ? { onCancel: () => cancel.mutate(jobId) } : {})} /> : null}
      <ErrorBox error={pull.error ?? cancel.error} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={busy || pull.isPending || Boolean(local)}
          onClick={() => pull.mutate(entry.id)}
          aria-label={`download ${entry.name}`}
        >
          {local ? 'Downloaded' : busy ? 'Downloading…' : 'Download'}
        </button>
      </div>
    </li>
  );
}
