import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT_CODE, HTTP_STATUS, VmlabError } from '../../../src/errors/vmlabError.js';
import { ImageError } from '../../../src/images/imageError.js';
import { LabError } from '../../../src/lab/labError.js';
import { QemuError } from '../../../src/qemu/qemuError.js';
import { SpecError } from '../../../src/spec/specError.js';
import { StoreError } from '../../../src/store/storeError.js';

describe('one error base', () => {
  it('every kind has an exit code and an HTTP status', () => {
    assert.deepEqual(EXIT_CODE, { input: 2, not_found: 2, conflict: 1, failure: 1 });
    assert.deepEqual(HTTP_STATUS, { input: 422, not_found: 404, conflict: 409, failure: 500 });
  });

  it('each family is a VmlabError with a code and a kind to branch on', () => {
    const cases: Array<[VmlabError, string, string]> = [
      [
        new SpecError([{ file: 'topology.json', path: 'links[0].a', message: 'expected "node:iface", got "r1"' }]),
        'spec_invalid',
        'input',
      ],
      [
        new LabError('lab_not_found', 'lab "x" is not deployed', { hint: 'see vmlab status' }),
        'lab_not_found',
        'not_found',
      ],
      [new ImageError('in_use', 'image "d" is used by lab(s) l1'), 'in_use', 'conflict'],
      [new ImageError('checksum_mismatch', 'sha256 differs'), 'checksum_mismatch', 'input'],
      [
        new QemuError('qemu_failed', 'QEMU for r1 stopped at start-up (exit code 1)', {
          argv: ['qemu-system-x86_64', '-m', '1'],
          logTail: 'tail',
        }),
        'qemu_failed',
        'failure',
      ],
      [new StoreError('store_newer', 'written by a newer vmlab', { hint: 'upgrade vmlab' }), 'store_newer', 'failure'],
    ];
    for (const [err, code, kind] of cases) {
      assert.ok(err instanceof VmlabError, err.name);
      assert.equal(err.code, code);
      assert.equal(err.kind, kind);
      assert.equal(err.exitCode, EXIT_CODE[err.kind]);
    }
  });

  it('the body a client sees has no stack and no internals', () => {
    const body = new LabError('lab_interrupted', 'lab "x" was interrupted', { hint: 'wait' }).toBody();
    assert.deepEqual(body, { code: 'lab_interrupted', message: 'lab "x" was interrupted', hint: 'wait' });
    const spec = new SpecError([{ file: 'a.json', path: 'x', message: 'bad' }]).toBody();
    assert.deepEqual(spec.details, [{ file: 'a.json', path: 'x', message: 'bad' }]);
  });
});
