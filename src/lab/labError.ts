import { VmlabError, type ErrorKind } from '../errors/vmlabError.js';

/**
 * A failure of the lab engine with what to do next. `kind` decides the
 * exit code and HTTP status (input and not_found: exit 2); `code` is what
 * callers branch on.
 */
export class LabError extends VmlabError {
  constructor(message: string, hint?: string, kind: ErrorKind = 'failure', code = 'lab_failed') {
    super(code, message, { kind, ...(hint ? { hint } : {}) });
  }
}
