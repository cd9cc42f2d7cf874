import { VmlabError, type ErrorKind, type ErrorOptions } from '../errors/vmlabError.js';

export type StoreErrorCode = 'store_newer' | 'store_unusable';

export const STORE_ERROR_KIND: Record<StoreErrorCode, ErrorKind> = {
  store_newer: 'failure',
  store_unusable: 'failure',
};

/** The store could not be opened or used (a newer schema, a corrupt or locked file). */
export class StoreError extends VmlabError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, opts: ErrorOptions = {}) {
    super(code, message, { ...opts, kind: opts.kind ?? STORE_ERROR_KIND[code] });
  }
}
