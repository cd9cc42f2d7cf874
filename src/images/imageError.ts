/**
 * A problem with an image or its download, as data: `code` is what jobs,
 * API and CLI branch on (never the message text); `hint` is the next step.
 * Bad input the user can fix (a name, a checksum, an unsafe file) is exit 2.
 */
export type ImageErrorCode =
  | 'not-found' // HTTP 404 / missing file
  | 'http' // other HTTP failure
  | 'network' // connection failed / reset
  | 'not-an-image' // HTML page, wrong magic bytes
  | 'checksum-mismatch'
  | 'checksum-unavailable'
  | 'unsafe' // backing file, external data file, path traversal
  | 'unsupported-format'
  | 'qemu-img' // qemu-img failed
  | 'cancelled'
  | 'busy' // another live vmlab process is working on it
  | 'bad-input';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    readonly hint?: string,
    readonly exitCode: 1 | 2 = code === 'bad-input' || code === 'unsafe' || code === 'checksum-mismatch' ? 2 : 1,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}
