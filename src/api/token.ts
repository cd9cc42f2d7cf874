import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmlabError } from '../errors/vmlabError.js';
import type { Settings } from '../host/settings.js';

export const tokenPath = (root: string) => join(root, 'api-token');

/**
 * The API token: VMLAB_API_TOKEN if set, else $VMLAB_HOME/api-token,
 * created on first start (random, mode 0600, never overwritten: two
 * servers starting at once agree on the one that won the exclusive create).
 */
export function loadToken(
  root: string,
  settings: Pick<Settings, 'apiToken'>,
): { token: string; source: 'env' | 'file' | 'created' } {
  const fromEnv = settings.apiToken;
  if (fromEnv) return { token: fromEnv, source: 'env' };
  const file = tokenPath(root);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  let source: 'file' | 'created' = 'file';
  try {
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
    source = 'created';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < 16)
    throw new VmlabError('token_unusable', `${file} holds no usable token (fewer than 16 characters)`, {
      hint: `delete it and start again (a new one is made), or set VMLAB_API_TOKEN`,
    });
  return { token, source };
}

/** Equal or not, in time that does not depend on where they differ (nor on the length of the guess). */
export function sameToken(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
