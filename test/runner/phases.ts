import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A group of test folders run by one `node --test` process, files one at a time. */
export interface Phase {
  name: string;
  dirs: string[];
}

/**
 * `npm test`'s phases: the Node-only suites first (while the test guests
 * build in the background), then the ones that run QEMU. Every folder of
 * test/ with tests is in exactly one (test/unit/testScript.test.ts checks).
 */
export const phases: Phase[] = [
  { name: 'node-only', dirs: ['api', 'cli', 'integration', 'unit', 'web'] },
  { name: 'qemu', dirs: ['faults', 'e2e'] },
];

/** The real-QEMU file each extra Node version runs besides the Node-only phase: short, and it drives vmlab serve. */
export const extraNodeE2e = 'e2e/api.test.js';

/**
 * The compiled test files of some folders of test/, sorted, relative to the
 * checkout (dist/test/<dir>/….test.js). Listed from the sources, so a test
 * deleted from test/ but still compiled in dist/ is not run.
 */
export function testFiles(root: string, dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(join(root, 'test', dir), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => join('dist', 'test', dir, f.replace(/\.ts$/, '.js')))
      .sort(),
  );
}
