import type { Reporter } from '../host/reporter.js';
import { style } from './output.js';

/** Progress on stderr, so stdout stays clean for --json and piping. */
export function cliReporter(verbose: boolean): Reporter {
  return {
    info: (m) => process.stderr.write(m + '\n'),
    warn: (m) => process.stderr.write(style.errYellow(`warning: ${m}`) + '\n'),
    verbose: (m) => {
      if (verbose) process.stderr.write(style.errDim(m) + '\n');
    },
  };
}
