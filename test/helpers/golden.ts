import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Compare with a committed golden file. UPDATE_GOLDEN=1 rewrites it; a
 * missing golden file is written on a developer machine but fails under CI,
 * so a golden test can never pass by writing its own expectation there.
 */
export function assertGolden(actual: string, file: string): void {
  if (process.env.UPDATE_GOLDEN === '1' || (!existsSync(file) && !process.env.CI)) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden file missing: ${file} (run with UPDATE_GOLDEN=1 to create it)`);
  assert.equal(actual, readFileSync(file, 'utf8'), `differs from ${file} (UPDATE_GOLDEN=1 rewrites it after review)`);
}
