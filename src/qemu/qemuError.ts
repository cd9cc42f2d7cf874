import { VmlabError } from '../errors/vmlabError.js';

/**
 * A QEMU (or qemu-img) run that failed. Carries the argv and the tail of
 * the logs as data: `reason` is the short form; `message` adds the tail.
 */
export class QemuError extends VmlabError {
  constructor(
    readonly reason: string,
    readonly argv: readonly string[],
    readonly logTail: string,
    hint?: string,
  ) {
    super('qemu_failed', `${reason}${logTail ? `\n${logTail}` : ''}`, { kind: 'failure', ...(hint ? { hint } : {}), details: { argv: argv.slice(0, 1) } });
  }
}
