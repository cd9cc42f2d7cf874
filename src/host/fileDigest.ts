import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex digests of a file for each algorithm asked, in one read. */
export async function hashFile(
  path: string,
  algos: Array<'sha256' | 'sha512'>,
): Promise<Partial<Record<'sha256' | 'sha512', string>>> {
  const hashes = [...new Set(algos)].map((a) => [a, createHash(a)] as const);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    for (const [, h] of hashes) h.update(chunk as Buffer);
  return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
}
