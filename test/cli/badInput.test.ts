import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { baseSpec, writeSpecDir } from '../helpers/specDir.js';
import { tempHome, vmlab } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';

/** Through the real CLI: exit code 2, one clear message, no stack trace, nothing started. */
describe('vmlab deploy with bad input', () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home };
  const cases: Array<[string, string, string]> = [
    [
      'invalid JSON',
      writeSpecDir({ ...baseSpec(), raw: { 'topology.json': '{ "devices": { "r1": {}, } }' } }),
      'topology.json: invalid JSON at line 1, column 26: expected a property name ("key")',
    ],
    [
      'missing image',
      writeSpecDir(baseSpec('/nonexistent/base.qcow2')),
      'platforms.json: platforms.vs.vm_image: image file not found: /nonexistent/base.qcow2',
    ],
    ['missing spec dir', '/nonexistent/specs', '/nonexistent/specs: spec directory not found'],
  ];
  for (const [name, dir, message] of cases) {
    it(name, async () => {
      const r = await vmlab(['deploy', '-S', dir], env);
      assert.equal(r.code, 2, r.stderr);
      assertIncludes(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
      assert.deepEqual(readdirSync(home), []); // no lab state, so nothing started
    });
  }

  it('names an unknown command and exits 2', async () => {
    const r = await vmlab(['deplyo'], env);
    assert.equal(r.code, 2);
    assertIncludes(r.stderr, "unknown command 'deplyo'");
  });

  it('exits 2 (not found) with the next step when no lab is deployed', async () => {
    const r = await vmlab(['ssh', 'r1', '--', 'true'], env);
    assert.equal(r.code, 2);
    assertIncludes(r.stderr, 'error: no lab is deployed');
    assertIncludes(r.stderr, 'next: deploy one: vmlab deploy -S <spec dir>');
  });

  it('status --json prints [] with no labs', async () => {
    const r = await vmlab(['status', '--json'], env);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });
});
