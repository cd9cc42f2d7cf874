import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The vmlab checkout or installed package: where bin/ and guest/ live (from src/ or dist/src/ alike). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'guest'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('vmlab package root not found');
    dir = up;
  }
  return dir;
}
