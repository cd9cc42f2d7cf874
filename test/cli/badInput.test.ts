import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baseSpec, writeSpecDir } from '../helpers/specDir.js';
import { tempHome, vmlab } from '../helpers/cli.js';

/** Through the real CLI: exit code 2, one clear message, no stack trace, nothing started. */
describe('vmlab deploy with bad input', () => {
  const home = tempHome();
  const env = { VMLAB_HOME: home };

  it.each([
    ['invalid JSON', writeSpecDir({ ...baseSpec(), raw: { 'topology.json': '{ "devices": { "r1": {}, } }' } }), 'topology.json: invalid JSON at line 1, column 26: expected a property name ("key")'],
    ['missing image', writeSpecDir(baseSpec('/nonexistent/base.qcow2')), 'platforms.json: platforms.vs.vm_image: image file not found: /nonexistent/base.qcow2'],
    ['missing spec dir', '/nonexistent/specs', '/nonexistent/specs: spec directory not found'],
  ])('%s', async (_name, dir, message) => {
    const r = await vmlab(['deploy', '-S', dir], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(home)).toEqual([]); // no lab state, so nothing started
  });

  it('names an unknown command and exits 2', async () => {
    const r = await vmlab(['deplyo'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'deplyo'");
  });

  it('exits 1 with the next step when no lab is deployed', async () => {
    const r = await vmlab(['ssh', 'r1', '--', 'true'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: no lab is deployed');
    expect(r.stderr).toContain('next: deploy one: vmlab deploy -S <spec dir>');
  });

  it('status --json prints [] with no labs', async () => {
    const r = await vmlab(['status', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
