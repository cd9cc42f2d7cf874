import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { packageRoot } from '../../src/packageRoot.js';
import { extraNodeE2e, phases, testFiles } from '../runner/phases.js';
import { extraMajors } from '../runner/run.js';

const root = packageRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const scripts = pkg.scripts;
const hasTests = (d: string) =>
  statSync(join(root, 'test', d)).isDirectory() &&
  readdirSync(join(root, 'test', d), { recursive: true }).some((f) => String(f).endsWith('.test.ts'));

// `npm test` runs the runner, whose phases name the folders (Node-only ones first, while the guests build).
it('npm test runs every folder of tests, each in one phase', () => {
  assert.match(scripts.test!, /node dist\/test\/helpers\/prebuildGuests\.js && node dist\/test\/runner\/run\.js$/);
  for (const d of readdirSync(join(root, 'test')).filter(hasTests)) {
    const n = phases.filter((p) => p.dirs.includes(d)).length;
    assert.equal(n, 1, `test/${d} is not in exactly one phase of test/runner/phases.ts`);
  }
  assert.deepEqual(
    phases.map((p) => p.dirs),
    [
      ['api', 'cli', 'integration', 'unit', 'web'],
      ['faults', 'e2e'],
    ],
  );
  const e2e = join(root, 'test', extraNodeE2e.replace(/\.js$/, '.ts'));
  assert.ok(existsSync(e2e), `${extraNodeE2e} (run on each extra Node) is gone`);
});

it('the runner lists compiled test files from the sources', () => {
  const files = testFiles(root, ['unit']);
  assert.ok(files.includes('dist/test/unit/testScript.test.js'));
  assert.ok(files.every((f) => /^dist\/test\/unit\/.+\.test\.js$/.test(f) && existsSync(join(root, f))));
  assert.deepEqual(files, [...files].sort());
});

it('extra Node versions: VMLAB_TEST_NODES, else 24 on CI, none elsewhere; never this Node twice', () => {
  const own = Number(process.versions.node.split('.')[0]);
  assert.deepEqual(
    extraMajors({ CI: 'true' }),
    [24].filter((m) => m !== own),
  );
  assert.deepEqual(
    extraMajors({ CI: 'true', VMLAB_TEST_NODES: '24,22' }),
    [24, 22].filter((m) => m !== own),
  );
  assert.deepEqual(extraMajors({}), []);
  assert.deepEqual(extraMajors({ CI: 'true', VMLAB_TEST_NODES: '' }), []);
  assert.deepEqual(extraMajors({ VMLAB_TEST_NODES: ` 26, ${own},26` }), [26]);
  assert.throws(
    () => extraMajors({ VMLAB_TEST_NODES: '24.1' }),
    /VMLAB_TEST_NODES: expected Node major versions separated by commas \(e\.g\. 24,22\), got "24\.1"/,
  );
});

// The runner's reporter on this very Node (CI runs this on each tested version): a file's time and the counts.
it('the timing reporter gives each file its time and the run its counts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-reporter-'));
  try {
    const head = "import { it } from 'node:test';\n";
    const waits = "it('waits', () => new Promise((r) => setTimeout(r, 300)));\n";
    writeFileSync(join(dir, 'a.test.mjs'), `${head}${waits}it('skips', { skip: true }, () => {});\n`);
    writeFileSync(join(dir, 'b.test.mjs'), `${head}it('fails', () => { throw new Error('no'); });\n`);
    const out = join(dir, 'timings.jsonl');
    const reporter = join(root, 'dist', 'test', 'runner', 'reporter.js');
    const args = ['--test', '--test-concurrency=1', `--test-reporter=${reporter}`];
    args.push(`--test-reporter-destination=${out}`, 'a.test.mjs', 'b.test.mjs');
    // Without NODE_TEST_CONTEXT, which would make it a subtest of this file's run instead of a run of its own.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const files = lines.filter((l) => l.file);
    const expected = [
      [join(dir, 'a.test.mjs'), true],
      [join(dir, 'b.test.mjs'), false],
    ];
    assert.deepEqual(
      files.map((f) => [f.file, f.passed]),
      expected,
    );
    assert.ok(files[0].ms >= 300 && files[0].ms < 10_000, `a.test.mjs took ${files[0].ms} ms`);
    const counts = Object.fromEntries(lines.filter((l) => l.count).map((l) => [l.count, l.n]));
    assert.deepEqual(counts, { tests: 3, pass: 1, fail: 1, cancelled: 0, skipped: 1, todo: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
