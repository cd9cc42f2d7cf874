import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  BUILTIN_CATALOG,
  mergeCatalog,
  validateCatalogEntries,
  type CatalogEntry,
  type UserCatalogEntry,
} from './catalog.js';
import { ImageError } from './imageError.js';

/**
 * User catalog files, in the order they apply: <root>/catalog.d/*.json|yaml (sorted), then $VMLAB_CATALOG
 * (colon-separated).
 */
export function catalogFilePaths(root: string, env: NodeJS.ProcessEnv): string[] {
  const dir = join(root, 'catalog.d');
  const fromDir = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.(json|ya?ml)$/.test(f))
        .sort()
        .map((f) => join(dir, f))
    : [];
  const fromEnv = (env.VMLAB_CATALOG ?? '').split(':').filter(Boolean);
  return [...fromDir, ...fromEnv];
}

function readCatalogFile(path: string): UserCatalogEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ImageError('bad_input', `${path}: cannot read the catalog file`, {
      hint: 'check VMLAB_CATALOG and ~/.vmlab/catalog.d/',
    });
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ImageError(
      'bad_input',
      `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
      { hint: 'fix the syntax' },
    );
  }
  return validateCatalogEntries(data, path);
}

/** The built-in catalog with every user file applied (mirrors, air-gapped sites, tests). */
export function loadCatalog(root: string, env: NodeJS.ProcessEnv): CatalogEntry[] {
  return mergeCatalog(BUILTIN_CATALOG, catalogFilePaths(root, env).flatMap(readCatalogFile));
}
