import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../../../components/ConfirmButton.js';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { JobProgress } from '../../../components/JobProgress.js';
import { Link } from '../../../components/Link.js';
import { useFollowJob } from '../../../lib/followJob.js';
import { toneOf } from '../../../lib/graphLayout.js';
import type { Lab } from '../../../lib/types.js';
import { useDeploy, useDestroy, useLabs } from '../api/labs.js';

/** Labs with state and node counts; deploy from a spec directory on the server; destroy. */
export function LabsView() {
  const labs = useLabs();
  const destroy = useDestroy();
  return (
    <section>
      <div className="toolbar">
        <h2>Labs</h2>
        <Link href="/labs/new" className="button primary">
          New lab…
        </Link>
      </div>
      <DeployFromDir />
      <ErrorBox error={labs.error ?? destroy.error} onDismiss={destroy.error ? () => destroy.reset() : undefined} />
      {labs.data && labs.data.length === 0 ? <p className="muted">No labs yet.</p> : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Lab</th>
              <th>State</th>
              <th>Nodes running</th>
              <th>Links</th>
              <th>Created</th>
              <th aria-label="actions" />
            </tr>
          </thead>
          <tbody>
            {(labs.data ?? []).map((l) => (
              <LabRow
                key={l.name}
                lab={l}
                busy={destroy.isPending && destroy.variables === l.name}
                onDestroy={() => destroy.mutate(l.name)}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function LabRow({ lab, busy, onDestroy }: { lab: Lab; busy: boolean; onDestroy: () => void }) {
  const running = lab.nodes.filter((n) => n.status === 'running').length;
  return (
    <tr>
      <td>
        <Link href={`/labs/${encodeURIComponent(lab.name)}`}>{lab.name}</Link>
      </td>
      <td>
        <span className={`badge ${toneOf(lab.status)}`} title={lab.hint}>
          {lab.status}
        </span>
      </td>
      <td>
        {running} / {lab.nodes.length}
      </td>
      <td>{lab.links.length}</td>
      <td>{lab.created ? new Date(lab.created).toLocaleString() : '—'}</td>
      <td className="row-actions">
        {busy ? (
          <span className="muted">destroying…</span>
        ) : (
          <ConfirmButton
            label="Destroy"
            question={`Destroy lab ${lab.name}? Its VMs stop and their disks are removed.`}
            onConfirm={onDestroy}
          />
        )}
      </td>
    </tr>
  );
}

function DeployFromDir() {
  const [dir, setDir] = useState('');
  const deploy = useDeploy();
  const job = useFollowJob(deploy.data?.job_id, [['labs']]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    deploy.mutate({ spec_dir: dir.trim() });
  };
  return (
    <form className="panel inline-form" onSubmit={submit}>
      <label>
        Deploy from a spec directory on the server
        <input required placeholder="/home/me/labs/demo" value={dir} onChange={(e) => setDir(e.target.value)} />
      </label>
      <button type="submit" className="primary" disabled={deploy.isPending || Boolean(job && !job.over)}>
        Deploy
      </button>
      <ErrorBox error={deploy.error} />
      {job ? <JobProgress job={job} /> : null}
      {job?.status === 'succeeded' && deploy.data ? (
        <Link href={`/labs/${encodeURIComponent(deploy.data.lab)}`}>Open {deploy.data.lab}</Link>
      ) : null}
    </form>
  );
}
