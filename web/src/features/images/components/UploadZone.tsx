import { useId, useRef, useState, type DragEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { JobProgress } from '../../../components/JobProgress.js';
import { ProgressBar } from '../../../components/ProgressBar.js';
import { useFollowJob } from '../../../lib/followJob.js';
import { formatBytes } from '../../../lib/format.js';
import { uploadImage } from '../api/upload.js';

type State =
  | { phase: 'idle' }
  | { phase: 'sending'; name: string; sent: number; total: number }
  | { phase: 'done'; name: string }
  | { phase: 'job'; name: string; jobId: string }
  | { phase: 'error'; error: unknown };

/** Drop a disk image here, or pick one: sent with its progress shown, then inspected by the server. */
export function UploadZone() {
  const [state, setState] = useState<State>({ phase: 'idle' });
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | undefined>(undefined);
  const qc = useQueryClient();
  const heading = useId();
  const job = useFollowJob(state.phase === 'job' ? state.jobId : undefined, [['images']]);

  const send = (file: File) => {
    abort.current = new AbortController();
    setState({ phase: 'sending', name: file.name, sent: 0, total: file.size });
    uploadImage(
      file,
      (sent, total) => setState({ phase: 'sending', name: file.name, sent, total }),
      abort.current.signal,
    )
      .then((r) => {
        setState(
          'image' in r ? { phase: 'done', name: r.image.name } : { phase: 'job', name: file.name, jobId: r.jobId },
        );
        void qc.invalidateQueries({ queryKey: ['images'] });
      })
      .catch((error: unknown) => setState({ phase: 'error', error }));
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const f = e.dataTransfer.files[0];
    if (f) send(f);
  };

  return (
    <section
      className={`dropzone${over ? ' over' : ''}`}
      aria-labelledby={heading}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
    >
      <h3 id={heading}>Upload</h3>
      <p className="muted">Drop a qcow2, raw, vmdk, vhd(x) or vdi file here, or</p>
      <button type="button" onClick={() => input.current?.click()} disabled={state.phase === 'sending'}>
        Choose a file…
      </button>
      <input
        ref={input}
        type="file"
        hidden
        aria-label="image file to upload"
        data-testid="upload-input"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) send(f);
          e.target.value = '';
        }}
      />
      {state.phase === 'sending' ? (
        <>
          <ProgressBar
            progress={state.total ? state.sent / state.total : 0}
            label={`${state.name}: ${formatBytes(state.sent)} of ${formatBytes(state.total)}`}
          />
          <button type="button" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        </>
      ) : null}
      {state.phase === 'done' ? <p className="ok-text">Uploaded as “{state.name}”.</p> : null}
      {state.phase === 'job' && job ? <JobProgress job={job} /> : null}
      {state.phase === 'error' ? <ErrorBox error={state.error} onDismiss={() => setState({ phase: 'idle' })} /> : null}
    </section>
  );
}
