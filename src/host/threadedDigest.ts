import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

// The hash runs on its own thread, which owns a single hash object: the
// batches it is handed arrive in order, and go back to be filled again.
const WORKER = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash(require('node:worker_threads').workerData);
parentPort.on('message', (m) => {
  if (m === null) return parentPort.postMessage(hash.digest('hex'));
  hash.update(new Uint8Array(m.buf, 0, m.len));
  parentPort.postMessage(m.buf, [m.buf]);
});`;

const BATCH = 1 << 20;
const IN_FLIGHT = 8;

/**
 * A pass-through stream that hashes what flows through it on a worker
 * thread, so a stream that is hashed while written (an upload) is not held
 * to one core's hashing speed plus everything else the main thread does.
 * Bytes are copied into 1 MiB batches that are handed over without a
 * further copy; at most 8 are in flight, which is the stream's back-pressure.
 */
export class ThreadedDigest extends Transform {
  private readonly worker: Worker;
  private free: ArrayBuffer[] = [];
  private batch: ArrayBuffer;
  private used = 0;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private result: Promise<string>;
  private settle!: { ok: (hex: string) => void; fail: (err: Error) => void };

  constructor(algorithm: 'sha256' | 'sha512' = 'sha256') {
    super({ highWaterMark: 4 << 20 });
    this.worker = new Worker(WORKER, { eval: true, workerData: algorithm });
    this.batch = new ArrayBuffer(BATCH);
    this.result = new Promise((ok, fail) => (this.settle = { ok, fail }));
    this.result.catch(() => undefined);
    this.worker.on('message', (m: ArrayBuffer | string) => {
      if (typeof m === 'string') return this.settle.ok(m);
      this.inFlight--;
      this.free.push(m);
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    });
    this.worker.on('error', (err) => {
      this.settle.fail(err);
      this.destroy(err);
    });
  }

  /** The hex digest of every byte that passed, once the stream has finished. */
  digest(): Promise<string> {
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.fill(chunk).then(() => done(null, chunk), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.used > 0) this.send();
    this.worker.postMessage(null);
    this.result.then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    void this.worker.terminate();
    this.settle.fail(err ?? new Error('the stream was destroyed before its digest was complete'));
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
        while (this.inFlight >= IN_FLIGHT) await new Promise<void>((r) => (this.wake = r));
        this.send();
      }
    }
  }

  private send(): void {
    this.worker.postMessage({ buf: this.batch, len: this.used }, [this.batch]);
    this.inFlight++;
    this.batch = this.free.pop() ?? new ArrayBuffer(BATCH);
    this.used = 0;
  }
}
