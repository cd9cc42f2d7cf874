import { statSync } from 'node:fs';

/**
 * One serialized answer (as bytes, ready to send), kept while the store is unchanged. Any commit,
 * by this server or by a CLI in another process, writes the SQLite file
 * or its WAL, so their size and mtime are the key; a state-changing
 * request of this server drops the answer outright, and none is older than
 * `maxAgeMs` (file times are as coarse as the kernel's clock tick, so two
 * commits within one tick that leave the WAL the same size would
 * otherwise look alike).
 */
export class StoreCache {
  private key = '';
  private value: Buffer | undefined;
  private at = 0;

  constructor(
    private readonly dbFile: string,
    private readonly maxAgeMs = 2_000,
  ) {}

  private currentKey(): string {
    return [this.dbFile, `${this.dbFile}-wal`]
      .map((f) => {
        const s = statSync(f, { bigint: true, throwIfNoEntry: false });
        return s ? `${s.size}:${s.mtimeNs}:${s.ino}` : '-';
      })
      .join('|');
  }

  get(make: () => string): Buffer {
    const key = this.currentKey();
    const now = Date.now();
    if (this.value !== undefined && key === this.key && now - this.at < this.maxAgeMs) return this.value;
    // Key taken before reading: a commit during the read changes the key, so the next call reads again.
    this.value = Buffer.from(make());
    this.key = key;
    this.at = now;
    return this.value;
  }

  invalidate(): void {
    this.value = undefined;
  }
}
