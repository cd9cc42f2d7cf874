import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { stat } from 'node:fs/promises';

export type DigestAlgo = 'sha256' | 'sha512';
export type Digests = Partial<Record<DigestAlgo, string>>;

// The hash runs on its own thread, which owns one hash object per algorithm.
// It is fed, in order, batches handed over (then handed back to be filled
// again) and/or "the file is written up to byte N", which it reads back
// itself (from the page cache, just written) so the thread that receives or
// copies the bytes neither hashes nor reads them. `at` counts both.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const hashes = workerData.map((a) => [a, require('node:crypto').createHash(a)]);
const update = (v) => { for (const [, h] of hashes) h.update(v); };
let fd, at = 0, buf;
parentPort.on('message', (m) => {
  if (m === null) {
    if (fd !== undefined) fs.closeSync(fd);
    return parentPort.postMessage({ digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) });
  }
  if (m.buf) {
    update(new Uint8Array(m.buf, 0, m.len));
    at += m.len;
    return parentPort.postMessage({ back: m.buf, hashed: at }, [m.buf]);
  }
  try {
    if (fd === undefined) { fd = fs.openSync(m.path, 'r'); buf = Buffer.allocUnsafe(4 << 20); }
    while (at < m.upTo) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.upTo - at), at);
      if (n === 0) throw new Error(m.path + ' ends at byte ' + at + ', expected ' + m.upTo);
      update(buf.subarray(0, n));
      at += n;
    }
    parentPort.postMessage({ hashed: at });
  } catch (e) {
    parentPort.postMessage({ error: e.message });
  }
});`;

const BATCH = 1 << 20;
const IN_FLIGHT = 8;
/** Batches a GrowingFileDigest lets the thread hold before it reads back instead. */
const HANDED_OVER = 32;

/** One hashing thread and what it has said so far. */
class HashThread {
  private readonly worker: Worker;
  /** Bytes hashed so far. */
  hashed = 0;
  failure: Error | undefined;
  /** The digests, once asked for with `digests()`; rejects if the thread fails or is stopped first. */
  readonly result: Promise<Digests>;
  private settle!: { ok: (d: Digests) => void; fail: (err: Error) => void };
  private readonly listeners = new Set<() => void>();

  constructor(
    algos: DigestAlgo[],
    private readonly onBatchBack?: (buf: ArrayBuffer) => void,
  ) {
    this.worker = new Worker(WORKER, { eval: true, workerData: [...new Set(algos)] });
    this.result = new Promise((ok, fail) => (this.settle = { ok, fail }));
    this.result.catch(() => undefined);
    this.worker.on('message', (m: { back?: ArrayBuffer; digests?: Digests; hashed?: number; error?: string }) => {
      if (m.hashed !== undefined) this.hashed = m.hashed;
      if (m.back) this.onBatchBack?.(m.back);
      else if (m.digests) this.settle.ok(m.digests);
      else if (m.error !== undefined) this.fail(new Error(m.error));
      for (const l of [...this.listeners]) l();
    });
    this.worker.on('error', (err) => this.fail(err));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.settle.fail(err);
    for (const l of [...this.listeners]) l();
  }

  batch(buf: ArrayBuffer, len: number): void {
    this.worker.postMessage({ buf, len }, [buf]);
  }

  fileTo(path: string, upTo: number): void {
    this.worker.postMessage({ path, upTo });
  }

  /** Resolves once `ready()` is true (checked after every message), rejects if the thread failed. */
  until(ready: () => boolean): Promise<void> {
    return new Promise((ok, fail) => {
      const check = () => {
        if (this.failure) fail(this.failure);
        else if (ready()) ok();
        else return;
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  digests(): Promise<Digests> {
    this.worker.postMessage(null);
    return this.result;
  }

  stop(err?: Error): void {
    void this.worker.terminate();
    this.settle.fail(err ?? new Error('the hashing thread was stopped before its digest was complete'));
  }
}

/**
 * A pass-through stream that hashes what flows through it on a worker
 * thread, so a stream that is hashed while written (an upload) is not held
 * to one core's hashing speed plus everything else the main thread does.
 * Bytes are copied into 1 MiB batches that are handed over without a
 * further copy; at most 8 are in flight, which is the stream's back-pressure.
 */
export class ThreadedDigest extends Transform {
  private readonly thread: HashThread;
  private free: ArrayBuffer[] = [];
  private batch: ArrayBuffer;
  private used = 0;
  private inFlight = 0;

  constructor(private readonly algorithm: DigestAlgo = 'sha256') {
    super({ highWaterMark: 4 << 20 });
    this.thread = new HashThread([algorithm], (buf) => {
      this.inFlight--;
      this.free.push(buf);
    });
    this.batch = new ArrayBuffer(BATCH);
    this.thread.until(() => false).catch((err: Error) => this.destroy(err));
  }

  /** The hex digest of every byte that passed, once the stream has finished. */
  async digest(): Promise<string> {
    return (await this.thread.result)[this.algorithm]!;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.fill(chunk).then(() => done(null, chunk), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.used > 0) this.send();
    this.thread.digests().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    this.thread.stop(err ?? undefined);
    done(err);
  }

  private async fill(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(BATCH - this.used, chunk.length - at);
      chunk.copy(Buffer.from(this.batch), this.used, at, at + n);
      this.used += n;
      at += n;
      if (this.used === BATCH) {
        await this.thread.until(() => this.inFlight < IN_FLIGHT);
        this.send();
      }
    }
  }

  private send(): void {
    this.thread.batch(this.batch, this.used);
    this.inFlight++;
    this.batch = this.free.pop() ?? new ArrayBuffer(BATCH);
    this.used = 0;
  }
}

/**
 * Hashes a file on a worker thread while it is being written: `advance(n)`
 * says bytes [0, n) are in place, and the thread reads them back (from the
 * page cache) and hashes them in order. A writer that writes in order from
 * its own 1 MiB buffers hands each one over instead (`written`): hashed with
 * no read-back and no copy, then handed back. The writer never waits for the
 * thread unless it asks to (`caughtUp`), so a receive loop that cannot pause
 * need not: past 32 batches in flight, bytes are read back instead, from the
 * page cache, which bounds the memory a lagging hash holds.
 */
export class GrowingFileDigest {
  private readonly thread: HashThread;
  private posted = 0;
  private inFlight = 0;
  private readonly free: Buffer[] = [];

  constructor(
    readonly path: string,
    algos: DigestAlgo[],
  ) {
    this.thread = new HashThread(algos, (buf) => {
      this.inFlight--;
      this.free.push(Buffer.from(buf));
    });
  }

  /** A 1 MiB buffer to fill and hand over with `written` (a batch that came back, or a new one). */
  take(): Buffer {
    return this.free.pop() ?? Buffer.from(new ArrayBuffer(BATCH));
  }

  /**
   * The first `len` bytes of `buf` were just written at the file's next
   * offset (where the hash has got to). Hands back the buffer to fill next:
   * `buf` itself when it was not handed over.
   */
  written(buf: Buffer, len: number): Buffer {
    if (this.inFlight >= HANDED_OVER || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) {
      this.advance(this.posted + len);
      return buf;
    }
    this.thread.batch(buf.buffer as ArrayBuffer, len);
    this.inFlight++;
    this.posted += len;
    return this.take();
  }

  /** Bytes hashed so far. */
  get hashed(): number {
    return this.thread.hashed;
  }

  /** Bytes [0, upTo) of the file are written. */
  advance(upTo: number): void {
    if (upTo <= this.posted) return;
    this.posted = upTo;
    this.thread.fileTo(this.path, upTo);
  }

  /** Resolves when at least `upTo` bytes are hashed (a writer that may wait bounds the lag with it). */
  caughtUp(upTo: number): Promise<void> {
    return this.thread.until(() => this.thread.hashed >= Math.min(upTo, this.posted));
  }

  /** Hash up to `total` and hand back the digests; the thread ends. */
  async finish(total: number): Promise<Digests> {
    this.advance(total);
    await this.caughtUp(total);
    return this.thread.digests();
  }

  /** End the thread without a digest (a failure or a cancel). */
  stop(): void {
    this.thread.stop();
  }
}

/** Hex digests of a whole file, read and hashed on a worker thread. */
export async function hashFileThreaded(path: string, algos: DigestAlgo[]): Promise<Digests> {
  const d = new GrowingFileDigest(path, algos);
  try {
    return await d.finish((await stat(path)).size);
  } finally {
    d.stop();
  }
}
