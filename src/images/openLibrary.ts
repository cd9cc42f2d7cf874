import { openStore, storePath } from '../store/database.js';
import { loadCatalog } from './catalogFiles.js';
import { ImageLibrary } from './library.js';

/** The library under the vmlab root ($VMLAB_HOME or ~/.vmlab), catalog files applied. */
export function openLibrary(root: string, env: NodeJS.ProcessEnv = process.env): ImageLibrary {
  return new ImageLibrary(openStore(storePath(root)), root, loadCatalog(root, env));
}

/** Images `vmlab images ensure` pulls: VMLAB_DEFAULT_IMAGES (comma-separated catalog ids). */
export const defaultImageIds = (env: NodeJS.ProcessEnv) => (env.VMLAB_DEFAULT_IMAGES ?? 'debian-12,ubuntu-24.04').split(',').map((s) => s.trim()).filter(Boolean);
