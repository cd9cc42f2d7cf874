import { useState, type FormEvent } from 'react';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { JobProgress } from '../../../components/JobProgress.js';
import { useFollowJob } from '../../../lib/followJob.js';
import { useCancelJob } from '../../../lib/jobs.js';
import { useImportImage } from '../api/images.js';

/** Import from a URL: the server downloads, checks and converts it, as a job followed here. */
export function ImportForm() {
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [checksum, setChecksum] = useState('');
  const imp = useImportImage();
  const cancel = useCancelJob();
  const jobId = imp.data?.job_id;
  const job = useFollowJob(jobId, [['images']]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    imp.mutate({
      url: url.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(checksum.trim() ? { checksum: checksum.trim() } : {}),
    });
  };
  return (
    <form className="panel" onSubmit={submit}>
      <h3>Import from a URL</h3>
      <label>
        URL
        <input
          type="url"
          required
          placeholder="https://…/disk.qcow2"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
      </label>
      <div className="row">
        <label>
          Name <span className="muted">(optional)</span>
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Checksum <span className="muted">(optional)</span>
          <input placeholder="sha256:…" value={checksum} onChange={(e) => setChecksum(e.target.value)} />
        </label>
      </div>
      <button type="submit" className="primary" disabled={imp.isPending || Boolean(job && !job.over)}>
        Import
      </button>
      <ErrorBox error={imp.error ?? cancel.error} />
      {job && jobId ? <JobProgress job={job} onCancel={() => cancel.mutate(jobId)} /> : null}
    </form>
  );
}
