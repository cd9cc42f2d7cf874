import { VmlabError, type ErrorKind } from '../errors/vmlabError.js';

/** The store could not be opened or used (a newer schema, a corrupt or locked file). */
export class StoreError extends VmlabError {
  constructor(code: 'store_newer' | 'store_unusable', message: string, hint: string, kind: ErrorKind = 'failure') {
    super(code, message, { kind, hint });
  }
}
