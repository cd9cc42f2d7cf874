import { API, ApiError } from '../../../lib/api.js';
import { authHeader } from '../../../lib/session.js';
import type { Image } from '../../../lib/types.js';

export type UploadResult = { image: Image } | { jobId: string };

/**
 * Upload one file as multipart/form-data. XMLHttpRequest, not fetch:
 * only it reports upload progress. Resolves with the image (201) or the
 * job that finishes it (202); an error answer becomes an ApiError.
 */
export function uploadImage(
  file: File,
  onProgress: (sent: number, total: number) => void,
  signal: AbortSignal,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}/images/upload`);
    for (const [k, v] of Object.entries(authHeader())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () =>
      reject(new ApiError(0, 'unreachable', 'the upload was cut off', 'is vmlab serve still running? Try again.'));
    xhr.onabort = () => reject(new ApiError(0, 'cancelled', 'the upload was cancelled'));
    xhr.onload = () => {
      let body: { error?: { code?: string; message?: string; hint?: string }; job_id?: string } & Partial<Image> = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // not JSON: handled below
      }
      if (xhr.status === 201) return resolve({ image: body as Image });
      if (xhr.status === 202 && body.job_id) return resolve({ jobId: body.job_id });
      reject(
        new ApiError(
          xhr.status,
          body.error?.code ?? 'http_error',
          body.error?.message ?? `the server answered ${xhr.status}`,
          body.error?.hint,
        ),
      );
    };
    signal.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.set('file', file, file.name);
    xhr.send(form);
  });
}
