import { writeSync } from 'node:fs';

const WRITE_BATCH = 1 << 20;

/**
 * Received bytes gathered into 1 MiB writes at their place in a part file:
 * one system call per MiB instead of one per socket read. Chunks are copied
 * (a receive buffer is not ours to keep). With `written`, each batch goes on
 * after its write (to be hashed), and the buffer to fill next comes back.
 */
export class PartWriter {
  private buf: Buffer;
  private used = 0;

  /** `at`: the file offset the next byte goes to. */
  constructor(
    private readonly fd: number,
    public at: number,
    private readonly sink?: { take(): Buffer; written(buf: Buffer, len: number): Buffer },
  ) {
    this.buf = sink?.take() ?? Buffer.allocUnsafe(WRITE_BATCH);
  }

  /** Offset after the last byte taken, written or not. */
  get end(): number {
    return this.at + this.used;
  }

  /** Take a chunk; true when a batch reached the file. */
  push(chunk: Buffer): boolean {
    let flushed = false;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(WRITE_BATCH - this.used, chunk.length - off);
      chunk.copy(this.buf, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === WRITE_BATCH) {
        this.flush();
        flushed = true;
      }
    }
    return flushed;
  }

  /** Write what is gathered. */
  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off, this.at + off);
    this.at += this.used;
    if (this.sink && this.used > 0) this.buf = this.sink.written(this.buf, this.used);
    this.used = 0;
  }
}
