import { VmlabError, type ErrorOptions } from '../errors/vmlabError.js';

export interface QemuErrorOptions extends Omit<ErrorOptions, 'kind' | 'details'> {
  /** What ran; only argv[0] reaches a client (`details.argv`). */
  argv: readonly string[];
  /** The tail of stderr or the serial log, appended to the message. */
  logTail?: string;
}

/**
 * A QEMU (or qemu-img, ssh-keygen, passt) run that failed. Carries the argv
 * and the tail of the logs as data: `reason` is the short form; `message`
 * adds the tail.
 */
export class QemuError extends VmlabError {
  readonly reason: string;
  readonly argv: readonly string[];
  readonly logTail: string;

  constructor(code: 'qemu_failed', reason: string, opts: QemuErrorOptions) {
    const { argv, logTail = '', ...rest } = opts;
    const details = { argv: argv.slice(0, 1) };
    super(code, `${reason}${logTail ? `\n${logTail}` : ''}`, { ...rest, kind: 'failure', details });
    this.reason = reason;
    this.argv = argv;
    this.logTail = logTail;
  }
}
