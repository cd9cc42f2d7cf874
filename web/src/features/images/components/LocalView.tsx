import { useEffect, useState } from 'react';
import { ConfirmButton } from '../../../components/ConfirmButton.js';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { JobProgress } from '../../../components/JobProgress.js';
import { Link } from '../../../components/Link.js';
import { useFollowJob } from '../../../lib/followJob.js';
import { formatBytes, shortSha } from '../../../lib/format.js';
import { useCancelJob, useJobs } from '../../../lib/jobs.js';
import { activeBuild, buildOffer, netDeviceOf } from '../../../lib/netDevice.js';
import type { Image } from '../../../lib/types.js';
import { useBuildDocker, useDeleteImage, useImageDetail, useImages, useVerifyImage } from '../api/images.js';
import { DistroMark } from './DistroMark.js';
import { ImageTabs } from './ImageTabs.js';
import { ImportForm } from './ImportForm.js';
import { UploadZone } from './UploadZone.js';

export function LocalView() {
  const images = useImages();
  const all = images.data ?? [];
  return (
    <section>
      <ImageTabs current="local" />
      <div className="two-col">
        <UploadZone />
        <ImportForm />
      </div>
      <ErrorBox error={images.error} />
      {images.data && images.data.length === 0 ? (
        <p className="muted">
          The library is empty: download from the catalog, upload a file or import one from a URL.
        </p>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Format</th>
              <th>Virtual / on disk</th>
              <th>OS / device</th>
              <th>User</th>
              <th>sha256</th>
              <th>Used by</th>
              <th aria-label="actions" />
            </tr>
          </thead>
          <tbody>
            {all.map((img) => (
              <ImageRow key={img.id} img={img} all={all} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** A docker entry's name cell: its reference, device, version, the disk it was built from, the default badge. */
function DockerName({ img, all }: { img: Image; all: Image[] }) {
  const from = img.built_from ? (all.find((i) => i.id === img.built_from)?.name ?? img.built_from) : null;
  return (
    <span className="name-cell">
      <DistroMark distro="docker" />
      <span>
        <strong>{img.reference ?? img.name}</strong> <span className="badge">docker</span>
        {img.is_default ? (
          <span className="badge ok" title={`the image labs get for ${img.device ?? 'this device'}`}>
            default
          </span>
        ) : null}
        <div className="muted small">
          {[img.device, img.version].filter(Boolean).join(' ')}
          {from ? <> · built from {from}</> : null}
        </div>
      </span>
    </span>
  );
}

function ImageRow({ img, all }: { img: Image; all: Image[] }) {
  const detail = useImageDetail(img.name);
  const del = useDeleteImage();
  const verify = useVerifyImage();
  const [verified, setVerified] = useState<string>();
  const docker = img.kind === 'docker';
  const dev = docker ? undefined : netDeviceOf(img.net_device);
  const os = docker
    ? [img.device, img.version].filter(Boolean).join(' ')
    : [img.os_distro, img.os_version, img.os_arch].filter(Boolean).join(' ');
  const usedBy = detail.data?.used_by ?? [];
  return (
    <>
      <tr data-testid={`image-${img.name}`} className={docker ? 'docker-row' : undefined}>
        <td>
          {docker ? (
            <DockerName img={img} all={all} />
          ) : (
            <span className="name-cell">
              <DistroMark distro={img.os_distro ?? dev?.device ?? null} />
              <span>
                <strong>{img.name}</strong>
                {dev ? (
                  <div className="muted small" data-testid="net-device">
                    {dev.label}
                    {dev.version ? ` ${dev.version}` : ''}
                  </div>
                ) : null}
              </span>
            </span>
          )}
        </td>
        <td>
          <span
            className={`badge ${img.status === 'ready' ? 'ok' : img.status === 'failed' ? 'bad' : 'busy'}`}
            title={img.error ?? undefined}
          >
            {img.status}
          </span>
        </td>
        <td>{docker ? 'docker' : (img.format ?? '—')}</td>
        <td>
          {docker
            ? `— / ${formatBytes(img.actual_size)}`
            : `${formatBytes(img.virtual_size)} / ${formatBytes(img.actual_size)}`}
        </td>
        <td>{os || '—'}</td>
        <td>{img.default_user ?? '—'}</td>
        <td>
          <code title={img.sha256 ?? undefined}>{shortSha(img.sha256)}</code>
          {verified ? <span className="badge ok">verified</span> : null}
        </td>
        <td>{usedBy.length ? usedBy.join(', ') : '—'}</td>
        <td className="row-actions">
          {docker ? null : (
            <button
              type="button"
              disabled={verify.isPending || img.status !== 'ready'}
              onClick={() => verify.mutate(img.name, { onSuccess: (r) => setVerified(r.sha256) })}
            >
              {verify.isPending ? 'Verifying…' : 'Verify'}
            </button>
          )}
          <ConfirmButton
            label="Delete"
            question={`Delete ${img.name}?`}
            disabled={del.isPending}
            onConfirm={() => del.mutate(img.name)}
          />
        </td>
      </tr>
      {del.error || verify.error ? (
        <tr>
          <td colSpan={9}>
            <ErrorBox
              error={del.error ?? verify.error}
              onDismiss={() => {
                del.reset();
                verify.reset();
              }}
            />
          </td>
        </tr>
      ) : null}
      {buildOffer(img).kind === 'none' ? null : <BuildRow img={img} />}
    </>
  );
}

/**
 * Under a network-device disk: "Build Docker image" (or why vrnetlab cannot
 * build it), the server's refusal as message and hint, and the build job
 * followed live (step, bar, cancel) with its log inline or in the Jobs view.
 */
function BuildRow({ img }: { img: Image }) {
  const offer = buildOffer(img);
  const build = useBuildDocker();
  const jobs = useJobs();
  const cancel = useCancelJob();
  const [showLog, setShowLog] = useState(false);
  // A build started elsewhere (the CLI, an auto-build after upload, before a reload) is found among the jobs and followed.
  const running = activeBuild(img.id, jobs.data);
  const [followed, setFollowed] = useState<string>();
  useEffect(() => {
    if (running && running.id !== followed && !build.data) setFollowed(running.id);
  }, [running, followed, build.data]);
  const jobId = build.data?.job_id ?? followed;
  const job = useFollowJob(jobId, [['images']]);
  const busy = build.isPending || Boolean(job && !job.over);
  return (
    <tr className="build-row" data-testid={`build-${img.name}`}>
      <td colSpan={9}>
        <div className="build-panel">
          {offer.kind === 'button' ? (
            <button
              type="button"
              className="primary"
              disabled={busy || img.status !== 'ready'}
              onClick={() => build.mutate(img.name)}
              aria-label={`Build Docker image of ${img.name}`}
            >
              {busy ? 'Building…' : 'Build Docker image'}
            </button>
          ) : offer.kind === 'reason' ? (
            <span className="muted small">
              No Docker image: <span data-testid="build-reason">{offer.reason}</span>
            </span>
          ) : null}
          {job ? (
            <div className="build-job">
              <JobProgress job={job} {...(jobId ? { onCancel: () => cancel.mutate(jobId) } : {})} />
              <span className="actions">
                <button type="button" className="link" aria-expanded={showLog} onClick={() => setShowLog(!showLog)}>
                  {showLog ? 'Hide log' : 'Show log'}
                </button>
                <Link href="/jobs">All jobs</Link>
              </span>
            </div>
          ) : null}
        </div>
        <ErrorBox
          error={build.error ?? cancel.error}
          onDismiss={() => {
            build.reset();
            cancel.reset();
          }}
        />
        {job && showLog ? (
          <pre className="log">{job.log.length ? job.log.join('\n') : '(no log lines yet)'}</pre>
        ) : null}
      </td>
    </tr>
  );
}
