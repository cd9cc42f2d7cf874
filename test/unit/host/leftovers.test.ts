import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pidAfter, removeLeftByDead } from '../../../src/host/leftovers.js';

describe('removeLeftByDead', () => {
  it('removes the files and dirs of dead writers only; live writers, ours and other names stay', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-left-'));
    const dead = spawnSync('true').pid!;
    mkdirSync(join(dir, `lab.tar.parts-${dead}`));
    writeFileSync(join(dir, `lab.tar.parts-${dead}`, 'disk'), 'x');
    writeFileSync(join(dir, `lab.tar.tmp-${dead}`), 'x');
    mkdirSync(join(dir, `lab.tar.parts-${process.pid}`));
    writeFileSync(join(dir, 'lab.tar.parts-1'), 'init is alive');
    writeFileSync(join(dir, 'lab.tar'), 'the export');
    writeFileSync(join(dir, `lab.tar.parts-${dead}x`), 'not a pid name');
    for (const kind of ['parts', 'tmp']) removeLeftByDead(dir, pidAfter(`lab.tar.${kind}-`));
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['lab.tar', `lab.tar.parts-${dead}x`, 'lab.tar.parts-1', `lab.tar.parts-${process.pid}`].sort(),
    );
    removeLeftByDead(join(dir, 'absent'), pidAfter('x-')); // no dir: nothing to do
  });
});
