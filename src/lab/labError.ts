/**
 * A failure of the lab engine with what to do next. `exitCode` is 1 for
 * failures, 2 for bad input the user can correct (a name, a flag).
 */
export class LabError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'LabError';
  }
}
