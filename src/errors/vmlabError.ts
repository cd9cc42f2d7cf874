/**
 * The one error base. Every error vmlab means to show a person or a client
 * is data: a stable `code` to branch on (never the message text), the
 * `message` (what happened to what: expected …, got …), the `hint` (the
 * next step) and a `kind` the front doors map: the CLI to an exit code,
 * the API to an HTTP status.
 */
export type ErrorKind = 'input' | 'not_found' | 'conflict' | 'failure';

export const EXIT_CODE: Record<ErrorKind, 1 | 2> = { input: 2, not_found: 2, conflict: 1, failure: 1 };
export const HTTP_STATUS: Record<ErrorKind, number> = { input: 422, not_found: 404, conflict: 409, failure: 500 };

export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
  details?: unknown;
}

/**
 * What every error takes after its code and message: the same object for the
 * base and each family (a family may add its own data, e.g. QemuError's argv).
 */
export interface ErrorOptions {
  kind?: ErrorKind;
  hint?: string | undefined;
  details?: unknown;
  cause?: unknown;
}

export class VmlabError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = opts.kind ?? 'failure';
    this.hint = opts.hint || undefined; // '' is no hint
    this.details = opts.details;
  }

  get exitCode(): 1 | 2 {
    return EXIT_CODE[this.kind];
  }

  /** What a client sees: no stack, no internals. */
  toBody(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}
