import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { VmlabError } from '../errors/vmlabError.js';

/**
 * Every environment variable vmlab reads, read once (by the entry point:
 * `loadSettings(process.env)`) into one frozen object. A malformed value is
 * an input error naming the variable, what was expected and what was given.
 */
export interface Settings {
  /** $VMLAB_HOME, else ~/.vmlab: labs, images, vmlab.db, api-token. */
  readonly root: string;
  /** $HOME (or the account's home): where `~` in paths points. */
  readonly home: string;
  /** $XDG_CACHE_HOME when absolute, else ~/.cache. */
  readonly cacheHome: string;
  /** VMLAB_QEMU, else qemu-system-x86_64. */
  readonly qemuBinary: string;
  /** VMLAB_PASST: a passt binary to use instead of the one on PATH. */
  readonly passt: string | undefined;
  /** VMLAB_SSH (default ssh), VMLAB_SSH_CONFIG, VMLAB_REMOTE_BIN (default vmlab): multi-host labs. */
  readonly ssh: string;
  readonly sshConfig: string | undefined;
  readonly remoteBin: string;
  /** VMLAB_ACCEL: kvm or tcg forces the accelerator; any other value probes (as unset). */
  readonly accel: 'kvm' | 'tcg' | undefined;
  /** VMLAB_KVM_DEVICE, else /dev/kvm. */
  readonly kvmDevice: string;
  /** VMLAB_REDIS_URL: jobs go to BullMQ on this Redis (redis:// or rediss://). */
  readonly redisUrl: string | undefined;
  /** VMLAB_AUTO_BUILD: builds after an import are on unless it is "false". */
  readonly autoBuild: boolean;
  /** AUTO_DOWNLOAD_IMAGES=true: the server (and `images ensure`) pull the default images. */
  readonly autoDownloadImages: boolean;
  /** VMLAB_DEFAULT_IMAGES (comma-separated catalog ids), else debian-12,ubuntu-24.04. */
  readonly defaultImages: readonly string[];
  /** VMLAB_CATALOG: catalog files, colon-separated. */
  readonly catalogFiles: readonly string[];
  /** VMLAB_API_TOKEN (trimmed; undefined when empty). */
  readonly apiToken: string | undefined;
  /** VRNETLAB_PATH, `~` expanded and made absolute. */
  readonly vrnetlabPath: string | undefined;
  /** DOCKER_HOST as given (children read it; messages name it). */
  readonly dockerHost: string | undefined;
  /** Colours on a terminal: off with NO_COLOR set or TERM=dumb. */
  readonly color: boolean;
  /** http_proxy, https_proxy, no_proxy (lower case first, then upper case); '' when unset. */
  readonly proxy: Readonly<{ http: string; https: string; no: string }>;
  /** VMLAB_JOB_CONCURRENCY (≥ 1, default 2): jobs this process runs at once. */
  readonly jobConcurrency: number;
  /** VMLAB_BUILD_TIMEOUT_S (≥ 1, default 30 min). */
  readonly buildTimeoutS: number;
  /** VMLAB_DOWNLOAD_ATTEMPTS (≥ 1), _RETRY_DELAY_MS (≥ 0), _CONNECTIONS (≥ 1); unset: the library's default. */
  readonly download: Readonly<{ attempts?: number; retryDelayMs?: number; connections?: number }>;
  /** The environment as given, for child processes (ssh, qemu, docker, make) and the lab/images engines. */
  readonly childEnv: Readonly<NodeJS.ProcessEnv>;
}

export const DEFAULT_BUILD_TIMEOUT_S = 30 * 60;
const DEFAULT_JOB_CONCURRENCY = 2;

const badEnv = (name: string, expected: string, given: string) =>
  new VmlabError('bad_environment', `${name}=${JSON.stringify(given)}: expected ${expected}`, {
    kind: 'input',
    hint: `fix or unset ${name}`,
  });

/** A whole-number setting from the environment: undefined when unset, a clear input error when malformed. */
export function envWholeNumber(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw badEnv(name, `a whole number ≥ ${min}`, v);
  return Number(v);
}

const nonEmpty = (v: string | undefined) => (v && v.length > 0 ? v : undefined);

/*
 * Single readings the host boundary also makes from an env it is handed (lab/ and images/ still pass a raw env:
 * they adopt Settings after the merge). One definition each, shared with loadSettings.
 */
export const accelFrom = (env: NodeJS.ProcessEnv) =>
  env.VMLAB_ACCEL === 'kvm' || env.VMLAB_ACCEL === 'tcg' ? env.VMLAB_ACCEL : undefined;
export const kvmDeviceFrom = (env: NodeJS.ProcessEnv) => env.VMLAB_KVM_DEVICE ?? '/dev/kvm';
export const qemuBinaryFrom = (env: NodeJS.ProcessEnv) => env.VMLAB_QEMU ?? 'qemu-system-x86_64';
export const cacheHomeFrom = (env: NodeJS.ProcessEnv, home = homedir()) =>
  env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(home, '.cache');

/** This process's environment: the default of host functions lab/ and images/ call without one (until they pass it). */
const list = (v: string, sep: string) =>
  v
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);
const proxyVar = (env: NodeJS.ProcessEnv, name: string) => env[name] || env[name.toUpperCase()] || '';

function redisUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = nonEmpty(env.VMLAB_REDIS_URL);
  if (url && !/^rediss?:\/\//.test(url)) throw badEnv('VMLAB_REDIS_URL', 'redis://host:port or rediss://…', url);
  return url;
}

function download(env: NodeJS.ProcessEnv): Settings['download'] {
  const attempts = envWholeNumber(env, 'VMLAB_DOWNLOAD_ATTEMPTS', 1);
  const retryDelayMs = envWholeNumber(env, 'VMLAB_DOWNLOAD_RETRY_DELAY_MS', 0);
  const connections = envWholeNumber(env, 'VMLAB_DOWNLOAD_CONNECTIONS', 1);
  return Object.freeze({
    ...(attempts !== undefined ? { attempts } : {}),
    ...(retryDelayMs !== undefined ? { retryDelayMs } : {}),
    ...(connections !== undefined ? { connections } : {}),
  });
}

/** Parse and check every variable vmlab reads; the result is frozen and never re-reads `env`. */
export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const childEnv = Object.freeze({ ...env });
  const home = homedir();
  const vrnetlab = nonEmpty(env.VRNETLAB_PATH);
  return Object.freeze({
    root: nonEmpty(env.VMLAB_HOME) ?? join(home, '.vmlab'),
    home,
    cacheHome: cacheHomeFrom(env, home),
    qemuBinary: qemuBinaryFrom(env),
    passt: nonEmpty(env.VMLAB_PASST),
    ssh: env.VMLAB_SSH || 'ssh',
    sshConfig: nonEmpty(env.VMLAB_SSH_CONFIG),
    remoteBin: env.VMLAB_REMOTE_BIN || 'vmlab',
    accel: accelFrom(env),
    kvmDevice: kvmDeviceFrom(env),
    redisUrl: redisUrl(env),
    autoBuild: env.VMLAB_AUTO_BUILD !== 'false',
    autoDownloadImages: env.AUTO_DOWNLOAD_IMAGES === 'true',
    defaultImages: Object.freeze(list(env.VMLAB_DEFAULT_IMAGES ?? 'debian-12,ubuntu-24.04', ',')),
    catalogFiles: Object.freeze((env.VMLAB_CATALOG ?? '').split(':').filter(Boolean)),
    apiToken: nonEmpty(env.VMLAB_API_TOKEN?.trim()),
    vrnetlabPath: vrnetlab ? resolve(vrnetlab.replace(/^~(?=\/|$)/, home)) : undefined,
    dockerHost: nonEmpty(env.DOCKER_HOST),
    color: !('NO_COLOR' in env) && env.TERM !== 'dumb',
    proxy: Object.freeze({
      http: proxyVar(env, 'http_proxy'),
      https: proxyVar(env, 'https_proxy'),
      no: proxyVar(env, 'no_proxy'),
    }),
    jobConcurrency: envWholeNumber(env, 'VMLAB_JOB_CONCURRENCY', 1) ?? DEFAULT_JOB_CONCURRENCY,
    buildTimeoutS: envWholeNumber(env, 'VMLAB_BUILD_TIMEOUT_S', 1) ?? DEFAULT_BUILD_TIMEOUT_S,
    download: download(env),
    childEnv,
  });
}

/** This process's settings, from its environment: what an entry point (cli/services) loads, once. */
export const processSettings = (): Settings => loadSettings(process.env);
