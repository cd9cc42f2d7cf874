import { readFileSync } from 'node:fs';
import { parse as parseTolerant, ParseErrorCode, type ParseError } from 'jsonc-parser';
import { SpecError } from './specError.js';

export interface JsonFile {
  /** Absolute path. */
  path: string;
  /** Name used in messages. */
  label: string;
  text: string;
  value: unknown;
}

const WHAT: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.CommaExpected]: 'expected a comma',
  [ParseErrorCode.ColonExpected]: 'expected a colon',
  [ParseErrorCode.PropertyNameExpected]: 'expected a property name ("key")',
  [ParseErrorCode.ValueExpected]: 'expected a value',
  [ParseErrorCode.CloseBraceExpected]: 'expected "}"',
  [ParseErrorCode.CloseBracketExpected]: 'expected "]"',
  [ParseErrorCode.EndOfFileExpected]: 'unexpected text after the end of the JSON',
  [ParseErrorCode.InvalidSymbol]: 'unexpected character',
  [ParseErrorCode.UnexpectedEndOfString]: 'unterminated string',
  [ParseErrorCode.InvalidCommentToken]: 'comments are not allowed in JSON',
};

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/**
 * Read and parse a JSON file. A syntax error becomes a SpecError with the
 * line and column; JSON.parse does not always say where, so the tolerant
 * parser is asked for the offset.
 */
export function readJsonFile(path: string, label: string): JsonFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new SpecError([{ file: label, path: '', message: why }]);
  }
  try {
    return { path, label, text, value: JSON.parse(text) };
  } catch (err) {
    const errors: ParseError[] = [];
    parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false });
    const first = errors[0];
    const offset = first ? first.offset : text.length;
    const { line, column } = lineColumn(text, offset);
    const what = (first && WHAT[first.error]) ?? (err as Error).message;
    throw new SpecError([
      {
        file: label,
        path: '',
        message: `invalid JSON at line ${line}, column ${column}: ${what}`,
        hint: 'fix the syntax (a missing comma, quote or brace, or a trailing comma) and run again',
      },
    ]);
  }
}
