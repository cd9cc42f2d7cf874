import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempHome, vmlab, repoRoot } from '../helpers/cli.js';
import { assertIncludes } from '../helpers/assertions.js';
import { assertGolden } from '../helpers/golden.js';

const fixtures = join(repoRoot, 'test', 'fixtures');

/** `vmlab graph` and `vmlab inventory` through the real CLI (the deployed case is in test/e2e/newtronHosts). */
describe('vmlab graph and inventory', () => {
  const env = { VMLAB_HOME: tempHome() };

  it('graph -S draws a spec dir that is not deployed (its images need not exist), in both formats', async () => {
    for (const [format, ext] of [
      ['mermaid', 'mmd'],
      ['dot', 'dot'],
    ] as const) {
      const r = await vmlab(['graph', '-S', join(fixtures, 'newtron-specs/2node-vs'), '--format', format], env);
      assert.equal(r.code, 0, r.stderr);
      assertGolden(r.stdout, join(fixtures, 'golden', `newtron-specs__2node-vs.graph.${ext}`));
    }
  });

  it('refuses an unknown format with exit 2 and the choices', async () => {
    for (const cmd of ['graph', 'inventory']) {
      const r = await vmlab([cmd, '--format', 'xml'], env);
      assert.equal(r.code, 2, r.stderr);
      assertIncludes(r.stderr, "argument 'xml' is invalid. Allowed choices are");
    }
  });

  it('inventory of a lab that is not deployed: exit 2 with the next step', async () => {
    const r = await vmlab(['inventory', 'nope'], env);
    assert.equal(r.code, 2);
    assertIncludes(r.stderr, 'error: lab "nope" is not deployed');
    assertIncludes(r.stderr, 'next: see deployed labs with: vmlab status');
  });
});
