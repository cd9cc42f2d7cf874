import { Option } from 'commander';
import { VmlabError, type ErrorOptions } from '../errors/vmlabError.js';

/**
 * A bad option value. Thrown from an option's argParser; commander lets it
 * through (only its own InvalidArgumentError is reworded), and main prints
 * `error: <message>` and exits 2. One code, always bad input.
 */
export class OptionError extends VmlabError {
  declare readonly code: 'bad_option';
  constructor(code: 'bad_option', message: string, opts: Omit<ErrorOptions, 'kind'> = {}) {
    super(code, message, { ...opts, kind: 'input' });
  }
}

export interface WholeNumberRule {
  /** What the number counts, for the message: "seconds". */
  unit: string;
  min?: number;
  max?: number;
}

/** `a whole number of seconds ≥ 0`, or `… from 1 to 64` when there is a maximum. */
export function describeRule(rule: WholeNumberRule): string {
  const min = rule.min ?? 0;
  const range = rule.max === undefined ? `≥ ${min}` : `from ${min} to ${rule.max}`;
  return `a whole number of ${rule.unit} ${range}`;
}

/**
 * Parse a whole number as a person types it: digits only (no sign other
 * than a leading +, no fraction, exponent, hex or spaces), within the rule.
 * `Number("")` is 0 and `Number("1e3")` is 1000, so Number alone will not do.
 */
export function parseWholeNumber(option: string, value: string, rule: WholeNumberRule): number {
  const n = /^\+?\d+$/.test(value) ? Number(value) : NaN;
  const ok = Number.isSafeInteger(n) && n >= (rule.min ?? 0) && (rule.max === undefined || n <= rule.max);
  if (!ok)
    throw new OptionError(
      'bad_option',
      `option ${option}: expected ${describeRule(rule)}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/**
 * An option taking a whole number, validated by commander as it parses:
 * every numeric option of every command goes through here.
 */
export function wholeNumberOption(
  flags: string,
  description: string,
  rule: WholeNumberRule & { default?: number },
): Option {
  const option = new Option(flags, description);
  const name = option.long ?? option.short ?? flags;
  option.argParser((value: string) => parseWholeNumber(name, value, rule));
  if (rule.default !== undefined) option.default(rule.default);
  return option;
}
