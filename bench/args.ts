import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { guestCacheDir } from '../test/helpers/guestCache.js';
import { tinyGuestFile } from '../test/helpers/tinyGuest.js';

/** What every bench reads from its command line, and where it finds vmlab and the tiny guest. */
const args = process.argv.slice(2);

export const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};

export const flag = (name: string): boolean => args.includes(name);

/** --image, else the test cache's tiny guest (of these sources), else the one install.sh built. */
export const tinyImage = (): string =>
  resolve(
    opt(
      '--image',
      [join(guestCacheDir(), tinyGuestFile()), join(homedir(), '.vmlab/images/vmlab-tiny.qcow2')].find(existsSync) ??
        '',
    ),
  );

export const vmlabBin = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../bin/vmlab');

/**
 * --before DIR: another checkout of vmlab (built), measured in the same run
 * beside this one, so a change is judged against its parent on one machine.
 */
export const beforeBin: string | undefined = opt('--before', '')
  ? resolve(opt('--before', ''), 'bin/vmlab')
  : undefined;

/** The builds a bench compares: this checkout, and the --before one first when given. */
export const builds = (): Array<{ label: string; bin: string }> =>
  beforeBin
    ? [
        { label: 'before', bin: beforeBin },
        { label: 'after', bin: vmlabBin },
      ]
    : [{ label: 'vmlab', bin: vmlabBin }];
