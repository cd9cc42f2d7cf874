import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, type Option } from 'commander';
import { OptionError, parseWholeNumber } from '../../src/cli/options.js';
import { register as console_ } from '../../src/cli/commands/console.js';
import { register as deploy } from '../../src/cli/commands/deploy.js';
import { register as destroy } from '../../src/cli/commands/destroy.js';
import { register as doctor } from '../../src/cli/commands/doctor.js';
import { register as images } from '../../src/cli/commands/images.js';
import { register as jobs } from '../../src/cli/commands/jobs.js';
import { register as nodeControl } from '../../src/cli/commands/nodeControl.js';
import { register as ssh } from '../../src/cli/commands/ssh.js';
import { register as status } from '../../src/cli/commands/status.js';
import { tempHome, vmlab } from '../helpers/cli.js';

describe('numeric options are validated', () => {
  const env = { VMLAB_HOME: tempHome() };

  it('vmlab stop --timeout <not a whole number ≥ 0> exits 2 with one clear line', async () => {
    // The real CLI for the kinds of mistake; parseWholeNumber below covers the rest.
    const bad = ['abc', '-5', '1.5'];
    const results = await Promise.all(bad.map((b) => vmlab(['stop', '--timeout', b, 'r1'], env)));
    results.forEach((r, i) => {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr.split('\n')[0],
        `error: option --timeout: expected a whole number of seconds ≥ 0, got ${JSON.stringify(bad[i])}`,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(r.stdout, '');
    });
  });

  it('a valid --timeout gets past option parsing (to "no lab is deployed", exit 2: not found)', async () => {
    const results = await Promise.all(
      [['--timeout', '0'], ['--timeout=30'], []].map((args) => vmlab(['stop', ...args, 'r1'], env)),
    );
    for (const r of results) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: no lab is deployed/);
    }
  });

  it('parseWholeNumber: digits within the rule, nothing else', () => {
    assert.equal(parseWholeNumber('--n', '0', { unit: 'seconds' }), 0);
    assert.equal(parseWholeNumber('--n', '+15', { unit: 'seconds' }), 15);
    assert.equal(parseWholeNumber('--n', '007', { unit: 'seconds' }), 7);
    assert.equal(parseWholeNumber('--n', '64', { unit: 'NICs', min: 1, max: 64 }), 64);
    assert.throws(() => parseWholeNumber('--n', '65', { unit: 'NICs', min: 1, max: 64 }), {
      message: 'option --n: expected a whole number of NICs from 1 to 64, got "65"',
    });
    assert.throws(() => parseWholeNumber('--n', '0', { unit: 'NICs', min: 1, max: 64 }), OptionError);
    for (const bad of ['Infinity', '1e3', '0x10', '', ' 3', '3 ', '1_000', '99999999999999999999']) {
      assert.throws(() => parseWholeNumber('--timeout', bad, { unit: 'seconds' }), {
        message: `option --timeout: expected a whole number of seconds ≥ 0, got ${JSON.stringify(bad)}`,
      });
    }
  });

  it('every option that takes a number has a validating parser', () => {
    const program = new Command('vmlab').enablePositionalOptions();
    for (const register of [deploy, destroy, status, ssh, console_, nodeControl, images, jobs, doctor])
      register(program);
    const numeric =
      /<(seconds|secs|ms|n|num|number|count|port|bytes|size|percent|timeout|retries|jobs|cpus|memory|mb)>/i;
    const unparsed: string[] = [];
    const walk = (cmd: Command) => {
      for (const o of cmd.options as Option[]) {
        const looksNumeric = numeric.test(o.flags) || typeof o.defaultValue === 'number';
        if (looksNumeric && !o.parseArg) unparsed.push(`${cmd.name()} ${o.flags}`);
      }
      cmd.commands.forEach(walk);
    };
    walk(program);
    assert.deepEqual(unparsed, []);
  });
});
