import type { z } from 'zod';

/*
 * zod's default messages say what was expected but not what was given
 * ("Invalid option: expected one of …"). A spec author fixes a file faster
 * when the message quotes their value, so every issue is reworded here.
 * Issues must come from safeParse(…, { reportInput: true }) to carry it.
 */

type Issue = z.core.$ZodIssue & { input?: unknown };

/** Says which paths' values are never echoed back (besides SECRET_KEY's fields). */
export type HideValue = (path: readonly PropertyKey[]) => boolean;

/** Fields whose values are never echoed back (they may hold passwords). */
const SECRET_KEY = /pass(word)?$|secret|token|private_?key/i;

const MAX_SHOWN = 60;

/** A value as the user wrote it in JSON: `"abc"`, `3`, `null`, `[…]`. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 2)}…${text.slice(-1)}` : text;
}

/**
 * The JSON type of a value, with the value when it is short and useful: `string "abc"`, `number 3`, `null`, `array`.
 */
function typeAndValue(value: unknown, hide: boolean): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return hide ? `${typeof value} (value hidden)` : `${typeof value} ${showValue(value)}`;
}

const EXPECTED_TYPE: Record<string, string> = {
  int: 'a whole number',
  number: 'number',
  string: 'string',
  boolean: 'boolean (true or false)',
  object: 'object',
  array: 'array',
  null: 'null',
  record: 'object',
};

const listValues = (values: readonly unknown[]) =>
  values.map((v) => (typeof v === 'string' ? v : showValue(v))).join(', ');

function bound(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = small ? issue.minimum : issue.maximum;
  const op = issue.inclusive === false ? (small ? '>' : '<') : small ? '≥' : '≤';
  switch (issue.origin) {
    case 'number':
    case 'int':
    case 'bigint':
      return `expected a number ${op} ${limit}`;
    case 'string':
      return `expected text of ${op} ${limit} characters`;
    case 'array':
    case 'set':
      return `expected ${op} ${limit} items`;
    default:
      return issue.message;
  }
}

/** `expected object or null` for a union whose branches each failed on the type alone. */
function unionExpectation(issue: Extract<Issue, { code: 'invalid_union' }>): string | undefined {
  const types: string[] = [];
  for (const branch of issue.errors) {
    const only = branch.length === 1 ? branch[0] : undefined;
    if (only?.code !== 'invalid_type' || only.path.length !== 0) return undefined;
    const t = EXPECTED_TYPE[only.expected] ?? only.expected;
    if (!types.includes(t)) types.push(t);
  }
  return types.length ? `expected ${types.join(' or ')}` : undefined;
}

/**
 * One zod issue as a spec message, without the path (the caller prints
 * that): `expected one of sequential, stride-4, linux, custom; got "zigzag"`,
 * `expected number, got string "abc"`, `expected a number ≥ 1, got 0`.
 */
export function zodIssueMessage(issue: Issue, hidden: HideValue = () => false): string {
  const last = issue.path[issue.path.length - 1];
  const hide = (typeof last === 'string' && SECRET_KEY.test(last)) || hidden(issue.path);
  const has = 'input' in issue;
  const got = (text: string) => (has ? text : '');
  const value = hide ? 'a value (hidden)' : showValue(issue.input);
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${showValue(issue.values[0])}${got(`, got ${value}`)}`
        : `expected one of ${listValues(issue.values)}${got(`; got ${value}`)}`;
    case 'invalid_type':
      if (has && issue.input === undefined)
        return `missing: expected ${EXPECTED_TYPE[issue.expected] ?? issue.expected}`;
      return (
        `expected ${EXPECTED_TYPE[issue.expected] ?? issue.expected}` +
        `${got(`, got ${typeAndValue(issue.input, hide)}`)}`
      );
    case 'too_small':
    case 'too_big':
      return `${bound(issue)}${got(`, got ${value}`)}`;
    case 'invalid_format':
      // Our regexes carry their own wording ("a QEMU device name such as e1000").
      return `expected ${issue.message.replace(/^Invalid (input|string): /, '')}${got(`, got ${value}`)}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}${got(`, got ${value}`)}`;
    case 'invalid_union': {
      const expected = unionExpectation(issue);
      return expected
        ? `${expected}${got(`, got ${typeAndValue(issue.input, hide)}`)}`
        : `not valid${got(`: got ${value}`)}`;
    }
    case 'invalid_key':
      // A record's key (a platform name): the key's own problem, which quotes it.
      return issue.issues.map((i) => zodIssueMessage(i as Issue, hidden)).join('; ');
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

/** True when a union branch failed only because the value has another type. */
const wrongTypeOnly = (branch: readonly z.core.$ZodIssue[]) =>
  branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0;

/**
 * Every issue as (path, message). A union whose value has the type of one
 * branch (`{"interfaces": {"e": 3}}` against object-or-null) reports that
 * branch's own problems at their full path instead of "invalid input".
 */
export function zodIssueMessages(
  issues: readonly z.core.$ZodIssue[],
  hidden: HideValue = () => false,
): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union') {
      const matching = issue.errors.filter((b) => !wrongTypeOnly(b));
      if (matching.length === 1) {
        const inner = zodIssueMessages(matching[0]!, (p) => hidden([...issue.path, ...p]));
        for (const i of inner) out.push({ path: [...issue.path, ...i.path], message: i.message });
        continue;
      }
    }
    out.push({ path: [...issue.path], message: zodIssueMessage(issue, hidden) });
  }
  return out;
}
