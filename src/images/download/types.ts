import type { Checksum } from '../checksums.js';

/**
 * The types of a download, shared by every file in this folder. A leaf: it
 * imports nothing from the other download files, so they never import each
 * other in a circle for a type.
 */

export interface DownloadProgress {
  /** Bytes in the part file so far, including a resumed prefix. */
  bytes: number;
  /** Full size, from Content-Length or Content-Range; null when the server does not say. */
  total: number | null;
  /** Speed of this transfer (the resumed prefix does not count). */
  bytesPerSec: number;
  etaSec: number | null;
}

export interface DownloadOptions {
  /** Verify against this digest; a mismatch deletes the part file. */
  expected?: Checksum;
  /** At most about 10 calls a second, plus one when the body is complete. */
  onProgress?: (p: DownloadProgress) => void;
  /** Abort: ImageError('cancelled'), the part file is kept for a resume. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * Share one transfer between concurrent calls for the same dest in this
   * process (default true). With false a call still takes the cross-process
   * lock file, so it waits for a transfer another call or process is doing.
   */
  shareInProcess?: boolean;
  /** How often to look at another process's lock file (default 250 ms). */
  lockPollMs?: number;
  /** Give up when the connection is idle this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Extra trusted CA certificate(s) for https (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Give up after this many attempts in a row that bring no new bytes
   * (default 5); an attempt that gets further starts the count again.
   */
  attempts?: number;
  /** First wait between attempts, doubling up to 30 s (default 1000 ms); a Retry-After header wins. */
  retryDelayMs?: number;
  /**
   * Where http_proxy, https_proxy and no_proxy (or upper case) are read (none given: no proxy; the library passes
   * settings.childEnv).
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Parallel connections for a server that accepts Range requests (default 4;
   * 1: one stream). Each segment gets at least `minSegmentBytes`.
   */
  connections?: number;
  /** Smallest segment worth its own connection (default 16 MiB: a file under 32 MiB comes in one stream). */
  minSegmentBytes?: number;
  /**
   * How long the first stream runs before it may be split (default 1000 ms;
   * 0: segments at once). A stream at `fastStreamBytesPerSec` or more by
   * then stays one stream: more connections would not make it faster.
   */
  probeMs?: number;
  /** A single stream this fast is kept whole (default 128 MiB/s, about a full 1 GbE link). */
  fastStreamBytesPerSec?: number;
}

export interface DownloadResult {
  /** Absolute path of the finished file. */
  path: string;
  bytes: number;
  sha256: string;
  /** Present when the expected digest was sha512. */
  sha512?: string;
  /** True when bytes from an earlier, interrupted download were kept. */
  resumed: boolean;
}

/** One segment of a segmented download: bytes [start, end), `done` of them in the part file. */
export interface Segment {
  start: number;
  end: number;
  done: number;
}

/** What `dest.part.json` holds: what a later resume needs. */
export interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
  /** Present for a segmented download. */
  segments?: Segment[];
}

/** What the first answer said about a file that can come in segments. */
export interface Rangeable {
  total: number;
  etag: string | null;
  lastModified: string | null;
}
