import { VmlabError, type ErrorKind } from '../errors/vmlabError.js';

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
  | 'in-use' // a lab runs on it
  | 'exists' // the name is taken
  | 'bad-input';

const KIND: Record<ImageErrorCode, ErrorKind> = {
  'not-found': 'not_found',
  http: 'failure',
  network: 'failure',
  'not-an-image': 'input',
  'checksum-mismatch': 'input',
  'checksum-unavailable': 'failure',
  unsafe: 'input',
  'unsupported-format': 'input',
  'qemu-img': 'failure',
  cancelled: 'failure',
  busy: 'conflict',
  'in-use': 'conflict',
  exists: 'conflict',
  'bad-input': 'input',
};

export class ImageError extends VmlabError {
  declare readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string, hint?: string, kind: ErrorKind = KIND[code]) {
    super(code, message, { kind, ...(hint ? { hint } : {}) });
  }
}
