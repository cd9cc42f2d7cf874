import { VmlabError } from '../errors/vmlabError.js';

/**
 * An error only HTTP has (401 no token, 403 cross-origin or a path outside the roots, 413 too large, 421 a foreign Host):
 * a VmlabError with its status named outright, since no kind maps to it.
 */
export class HttpError extends VmlabError {
  constructor(
    readonly status: 401 | 403 | 413 | 421,
    code: string,
    message: string,
    hint?: string,
  ) {
    super(code, message, { kind: 'input', ...(hint ? { hint } : {}) });
  }
}
