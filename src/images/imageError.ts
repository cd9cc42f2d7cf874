import { VmlabError, type ErrorKind, type ErrorOptions } from '../errors/vmlabError.js';

/**
 * A problem with an image or its download, as data: `code` is what jobs,
 * API and CLI branch on (never the message text); `hint` is the next step.
 * Bad input the user can fix (a name, a checksum, an unsafe file) is exit 2.
 */
export type ImageErrorCode =
  | 'not_found' // HTTP 404 / missing file
  | 'http' // other HTTP failure
  | 'network' // connection failed / reset
  | 'not_an_image' // HTML page, wrong magic bytes
  | 'checksum_mismatch'
  | 'checksum_unavailable'
  | 'unsafe' // backing file, external data file, path traversal
  | 'unsupported_format'
  | 'qemu_img' // qemu-img failed
  | 'cancelled'
  | 'busy' // another live vmlab process is working on it
  | 'in_use' // a lab runs on it
  | 'exists' // the name is taken
  | 'bad_input';

export const IMAGE_ERROR_KIND: Record<ImageErrorCode, ErrorKind> = {
  not_found: 'not_found',
  http: 'failure',
  network: 'failure',
  not_an_image: 'input',
  checksum_mismatch: 'input',
  checksum_unavailable: 'failure',
  unsafe: 'input',
  unsupported_format: 'input',
  qemu_img: 'failure',
  cancelled: 'failure',
  busy: 'conflict',
  in_use: 'conflict',
  exists: 'conflict',
  bad_input: 'input',
};

export class ImageError extends VmlabError {
  declare readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string, opts: ErrorOptions = {}) {
    super(code, message, { ...opts, kind: opts.kind ?? IMAGE_ERROR_KIND[code] });
  }
}
