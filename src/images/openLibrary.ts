import { openStore, storePath, type Db } from '../store/database.js';
import { loadCatalog } from './catalogFiles.js';
import { envWholeNumber } from '../host/envNumber.js';
import { checkConnections, ImageLibrary, type LibraryDownloadOptions, type LibraryWiring } from './library.js';

/**
 * The library under the vmlab root ($VMLAB_HOME or ~/.vmlab), catalog files
 * applied. Downloads read http_proxy/https_proxy/no_proxy (or upper case)
 * from `env`, and VMLAB_DOWNLOAD_ATTEMPTS (attempts in a row without
 * progress before giving up, default 5) and VMLAB_DOWNLOAD_RETRY_DELAY_MS
 * (first wait between attempts, doubling; default 1000), and
 * VMLAB_DOWNLOAD_CONNECTIONS (parallel segments from a server that takes
 * ranges, default 4; 1: one stream).
 */
export function openLibrary(
  root: string,
  env: NodeJS.ProcessEnv,
  opts: { db?: Db } & LibraryWiring = {},
): ImageLibrary {
  const { db, ...wiring } = opts;
  const lib = new ImageLibrary(db ?? openStore(storePath(root)), root, loadCatalog(root, env), wiring);
  lib.downloadOptions = downloadOptionsFrom(env);
  return lib;
}

function downloadOptionsFrom(env: NodeJS.ProcessEnv): LibraryDownloadOptions {
  const attempts = envWholeNumber(env, 'VMLAB_DOWNLOAD_ATTEMPTS', 1);
  const retryDelayMs = envWholeNumber(env, 'VMLAB_DOWNLOAD_RETRY_DELAY_MS', 0);
  const connections = envWholeNumber(env, 'VMLAB_DOWNLOAD_CONNECTIONS', 1);
  return {
    env,
    ...(attempts !== undefined ? { attempts } : {}),
    ...(retryDelayMs !== undefined ? { retryDelayMs } : {}),
    ...(connections !== undefined ? { connections: checkConnections(connections, 'VMLAB_DOWNLOAD_CONNECTIONS') } : {}),
  };
}

/** Images `vmlab images ensure` pulls: VMLAB_DEFAULT_IMAGES (comma-separated catalog ids). */
export const defaultImageIds = (env: NodeJS.ProcessEnv) =>
  (env.VMLAB_DEFAULT_IMAGES ?? 'debian-12,ubuntu-24.04')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
