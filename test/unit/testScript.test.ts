import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { packageRoot } from '../../src/packageRoot.js';

// `npm test` names its suites (Node-only ones first, while the guests build): a new folder must not be left out.
it('npm test runs every folder of tests', () => {
  const root = packageRoot();
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { test: string } }).scripts.test;
  const dirs = readdirSync(join(root, 'test')).filter((d) => statSync(join(root, 'test', d)).isDirectory() && readdirSync(join(root, 'test', d), { recursive: true }).some((f) => String(f).endsWith('.test.ts')));
  for (const d of dirs) assert.match(script, new RegExp(`dist/test/${d}([\\s;]|$)`), `test/${d} is not in npm test`);
});
