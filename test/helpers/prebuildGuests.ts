import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudGuest } from './cloudGuest.js';
import { guestCacheDir } from './guestCache.js';
import { tinyGuest } from './tinyGuest.js';

/*
 * `npm test` runs this first: it starts building the test guests (tiny,
 * then the Debian cloud image) in a detached process and returns at once,
 * so the builds overlap the Node-only suites. Tests that need a guest wait
 * for its build (test/helpers/guestCache); a failed build is retried by
 * the first test that needs it, with its output shown there.
 */
if (process.argv[2] === '--build') {
  await tinyGuest();
  await cloudGuest();
} else {
  mkdirSync(guestCacheDir(), { recursive: true });
  const log = openSync(join(guestCacheDir(), 'prebuild.log'), 'w');
  spawn(process.execPath, [fileURLToPath(import.meta.url), '--build'], {
    detached: true,
    stdio: ['ignore', log, log],
  }).unref();
}
