import { whichBinary } from '../host/which.js';
import { run, type RunResult } from '../host/subprocess.js';
import { QEMU_IMG } from './qemuImg.js';

/*
 * The image library's qemu-img calls, on images it does not trust yet:
 * info and check under resource limits, and the conversion to qcow2.
 * The callers turn a failure into their own ImageError.
 */

/** Limits for qemu-img on untrusted input, as OpenStack does: 1 GiB address space, 30 s of CPU. */
const PRLIMIT_ARGS = ['--as=1073741824', '--cpu=30', '--'];
/** Wall-clock limit on one qemu-img info/check of an untrusted image. */
export const INSPECT_TIMEOUT_MS = 60_000;

/** Where prlimit (util-linux) is looked for: the system's own directories, not whatever PATH a caller set. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let prlimitPath: string | null | undefined;

/** prlimit, or null. Looked up once. */
function findPrlimit(): string | null {
  if (prlimitPath === undefined) prlimitPath = whichBinary('prlimit', { PATH: SYSTEM_PATH }) ?? null;
  return prlimitPath;
}

/** For tests: forget the cached prlimit lookup, or (null) act as if prlimit were not installed. */
export function resetPrlimitCache(found?: null): void {
  prlimitPath = found;
}

/** qemu-img on an untrusted image: memory and CPU limited by prlimit when present, always under a timeout. */
export function limitedQemuImg(args: readonly string[]): Promise<RunResult> {
  const prlimit = findPrlimit();
  const argv = prlimit ? [prlimit, ...PRLIMIT_ARGS, QEMU_IMG, ...args] : [QEMU_IMG, ...args];
  return run(argv, { timeoutMs: INSPECT_TIMEOUT_MS });
}

/**
 * `qemu-img convert -p` of `src` (absolute: qemu-img reads "proto:..." names as protocols) to a qcow2 at `part`;
 * `onStdout` gets its progress text.
 */
export function qemuImgConvert(
  src: string,
  srcFormat: string,
  part: string,
  opts: { signal?: AbortSignal; onStdout?: (text: string) => void },
): Promise<RunResult> {
  const argv = [QEMU_IMG, 'convert', '-p', '-f', srcFormat, '-O', 'qcow2', src, part];
  return run(argv, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    kill: { signal: 'SIGTERM', graceMs: 2000 },
    onChunk: (text, stream) => {
      if (stream === 'stdout') opts.onStdout?.(text);
    },
  });
}
