import { VmlabError, type ErrorOptions } from '../errors/vmlabError.js';

/** The errors only HTTP has, each with its status: no kind maps to these. */
export const HTTP_ERROR_STATUS = {
  unauthorized: 401, // no or a wrong token
  cross_origin: 403,
  path_not_allowed: 403, // a path outside the server's roots
  too_large: 413,
  host_not_allowed: 421, // a foreign Host header
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR_STATUS;

/** An error only HTTP has: a VmlabError whose status comes from its code. */
export class HttpError extends VmlabError {
  declare readonly code: HttpErrorCode;
  readonly status: 401 | 403 | 413 | 421;

  constructor(code: HttpErrorCode, message: string, opts: Omit<ErrorOptions, 'kind'> = {}) {
    super(code, message, { ...opts, kind: 'input' });
    this.status = HTTP_ERROR_STATUS[code];
  }
}
