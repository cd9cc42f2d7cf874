import { openStore, storePath } from '../store/database.js';
import { loadCatalog } from './catalogFiles.js';
import { envWholeNumber } from '../host/envNumber.js';
import { ImageLibrary, type LibraryDownloadOptions } from './library.js';

/**
 * The library under the vmlab root ($VMLAB_HOME or ~/.vmlab), catalog files
 * applied. Downloads read http_proxy/https_proxy/no_proxy (or upper case)
 * from `env`, and VMLAB_DOWNLOAD_ATTEMPTS (attempts in a row without
 * progress before giving up, default 5) and VMLAB_DOWNLOAD_RETRY_DELAY_MS
 * (first wait between attempts, doubling; default 1000).
 */
export function openLibrary(root: string, env: NodeJS.ProcessEnv = process.env): ImageLibrary {
  const lib = new ImageLibrary(openStore(storePath(root)), root, loadCatalog(root, env));
  lib.downloadOptions = downloadOptionsFrom(env);
  return lib;
}

function downloadOptionsFrom(env: NodeJS.ProcessEnv): LibraryDownloadOptions {
  const attempts = envWholeNumber(env, 'VMLAB_DOWNLOAD_ATTEMPTS', 1);
  const retryDelayMs = envWholeNumber(env, 'VMLAB_DOWNLOAD_RETRY_DELAY_MS', 0);
  return { env, ...(attempts !== undefined ? { attempts } : {}), ...(retryDelayMs !== undefined ? { retryDelayMs } : {}) };
}

/** Images `vmlab images ensure` pulls: VMLAB_DEFAULT_IMAGES (comma-separated catalog ids). */
export const defaultImageIds = (env: NodeJS.ProcessEnv) => (env.VMLAB_DEFAULT_IMAGES ?? 'debian-12,ubuntu-24.04').split(',').map((s) => s.trim()).filter(Boolean);
