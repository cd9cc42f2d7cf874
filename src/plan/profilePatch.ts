import { applyEdits, modify } from 'jsonc-parser';

/** Indentation the file already uses (first indented line), else two spaces. */
function detectIndent(text: string): { insertSpaces: boolean; tabSize: number } {
  const m = /\n([ \t]+)"/.exec(text);
  if (!m) return { insertSpaces: true, tabSize: 2 };
  const ws = m[1]!;
  return ws.startsWith('\t') ? { insertSpaces: false, tabSize: 1 } : { insertSpaces: true, tabSize: ws.length };
}

/**
 * Set top-level fields of a profile, editing the text in place: existing
 * keys keep their position and every other byte of the file stays as it was;
 * new keys are appended.
 */
export function patchProfileText(text: string, set: Record<string, string | number>): string {
  const formattingOptions = { ...detectIndent(text), eol: text.includes('\r\n') ? '\r\n' : '\n' };
  let out = text;
  for (const [key, value] of Object.entries(set)) {
    out = applyEdits(out, modify(out, [key], value, { formattingOptions }));
  }
  return out;
}
