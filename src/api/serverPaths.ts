import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { HttpError } from './httpError.js';
import { VmlabError } from '../errors/vmlabError.js';

/**
 * The directories a served API may read and write on the server: the
 * state root (VMLAB_HOME) and the roots `vmlab serve --allow-path` adds.
 * A path in a request is resolved (symlinks too, as far as it exists) and
 * must fall inside one of them; the CLI is not confined (its user names
 * the paths), the API is (its client may be a page the user opened).
 */
export class ServerPaths {
  readonly roots: string[];

  constructor(roots: string[]) {
    this.roots = [...new Set(roots.map((r) => realRoot(r)))];
  }

  /**
   * The real path of `path` (what the request's `field` gave) if it is
   * inside a root, else a 403 naming the field, the path and the roots.
   * A path that does not exist yet (an export target) is its deepest
   * existing parent's real path plus the rest.
   */
  check(field: string, path: string): string {
    const real = realAsFarAsItExists(resolve(path));
    if (this.roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep))) return real;
    throw new HttpError(
      'path_not_allowed',
      `${field}: ${path}${real !== path ? ` (${real})` : ''} is outside the directories this server may use: ` +
        this.roots.join(', '),
      { hint: `move it under one of them, or start the server with vmlab serve --allow-path ${dirname(real)}` },
    );
  }
}

function realRoot(root: string): string {
  try {
    return realpathSync(resolve(root));
  } catch {
    throw new VmlabError('invalid_allow_path', `--allow-path ${root}: no such directory`, {
      kind: 'input',
      hint: 'create it first, or give an existing directory',
    });
  }
}

/**
 * realpath of the deepest existing ancestor, joined with the names below
 * it (which no symlink can be yet). A dangling symlink on the way is
 * followed by hand: a write through it would land where it points.
 */
function realAsFarAsItExists(abs: string, depth = 0): string {
  const rest: string[] = [];
  let p = abs;
  for (;;) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st) {
      try {
        return join(realpathSync(p), ...rest.reverse());
      } catch {
        if (!st.isSymbolicLink() || depth > 40) return join(p, ...rest.reverse()); // unreadable: judged as written
        return realAsFarAsItExists(join(resolve(dirname(p), readlinkSync(p)), ...rest.reverse()), depth + 1);
      }
    }
    const up = dirname(p);
    if (up === p) return abs;
    rest.push(basename(p));
    p = up;
  }
}
