import assert from 'node:assert/strict';

/** `text` contains `part`; the failure shows the whole text. */
export function assertIncludes(text: string, part: string, what = ''): void {
  assert.ok(text.includes(part), `${what ? what + ': ' : ''}expected ${JSON.stringify(part)} in:\n${text}`);
}
