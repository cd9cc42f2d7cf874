import { useState } from 'react';
import { ConfirmButton } from '../../../components/ConfirmButton.js';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { formatBytes, shortSha } from '../../../lib/format.js';
import type { Image } from '../../../lib/types.js';
import { useDeleteImage, useImageDetail, useImages, useVerifyImage } from '../api/images.js';
import { DistroMark } from './DistroMark.js';
import { ImageTabs } from './ImageTabs.js';
import { ImportForm } from './ImportForm.js';
import { UploadZone } from './UploadZone.js';

export function LocalView() {
  const images = useImages();
  return (
    <section>
      <ImageTabs current="local" />
      <div className="two-col">
        <UploadZone />
        <ImportForm />
      </div>
      <ErrorBox error={images.error} />
      {images.data && images.data.length === 0 ? <p className="muted">The library is empty: download from the catalog, upload a file or import one from a URL.</p> : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Format</th>
              <th>Virtual / on disk</th>
              <th>OS</th>
              <th>User</th>
              <th>sha256</th>
              <th>Used by</th>
              <th aria-label="actions" />
            </tr>
          </thead>
          <tbody>
            {(images.data ?? []).map((img) => (
              <ImageRow key={img.id} img={img} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ImageRow({ img }: { img: Image }) {
  const detail = useImageDetail(img.name);
  const del = useDeleteImage();
  const verify = useVerifyImage();
  const [verified, setVerified] = useState<string>();
  const os = [img.os_distro, img.os_version, img.os_arch].filter(Boolean).join(' ');
  const usedBy = detail.data?.used_by ?? [];
  return (
    <>
      <tr data-testid={`image-${img.name}`}>
        <td>
          <span className="name-cell">
            <DistroMark distro={img.os_distro} />
            <strong>{img.name}</strong>
          </span>
        </td>
        <td>
          <span className={`badge ${img.status === 'ready' ? 'ok' : img.status === 'failed' ? 'bad' : 'busy'}`} title={img.error ?? undefined}>
            {img.status}
          </span>
        </td>
        <td>{img.format ?? '—'}</td>
        <td>
          {formatBytes(img.virtual_size)} / {formatBytes(img.actual_size)}
        </td>
        <td>{os || '—'}</td>
        <td>{img.default_user ?? '—'}</td>
        <td>
          <code title={img.sha256 ?? undefined}>{shortSha(img.sha256)}</code>
          {verified ? <span className="badge ok">verified</span> : null}
        </td>
        <td>{usedBy.length ? usedBy.join(', ') : '—'}</td>
        <td className="row-actions">
          <button type="button" disabled={verify.isPending || img.status !== 'ready'} onClick={() => verify.mutate(img.name, { onSuccess: (r) => setVerified(r.sha256) })}>
            {verify.isPending ? 'Verifying…' : 'Verify'}
          </button>
          <ConfirmButton label="Delete" question={`Delete ${img.name}?`} disabled={del.isPending} onConfirm={() => del.mutate(img.name)} />
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
    </>
  );
}
