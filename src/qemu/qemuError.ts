/**
 * A QEMU (or qemu-img) run that failed. Carries the argv and the tail of
 * the logs as data; `message` is the short form, `detail` the full one.
 */
export class QemuError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly reason: string,
    readonly argv: readonly string[],
    readonly logTail: string,
    readonly hint?: string,
  ) {
    super(`${reason}: ${argv.slice(0, 1).join(' ')}${logTail ? `\n${logTail}` : ''}`);
    this.name = 'QemuError';
  }
}
