import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cycles,
  envFiles,
  fileGraph,
  folderGraph,
  roomGraph,
  functionSizes,
  longLines,
  sourceFiles,
  spawnFiles,
} from '../helpers/sourceFacts.js';

/*
 * The shape of src/ that #21 set, held: a change that brings back an import
 * cycle, a 300-line lab file, a stray spawn or environment read fails here,
 * naming the file.
 */
const files = sourceFiles();

describe('architecture of src/', () => {
  it('has no import cycle between files, type-only imports included', () => {
    assert.deepEqual(cycles(fileGraph(files)), []);
  });

  it('has no cycle between folders, at the top or between rooms (a subfolder may use leaf files of its parent)', () => {
    assert.deepEqual(cycles(folderGraph(files)), []);
    assert.deepEqual(cycles(roomGraph(files)), []);
  });

  it('keeps arrows downwards: lower folders import no front door or service', () => {
    const upper = new Set(['cli', 'api', 'service']);
    const lower = ['lab', 'images', 'builds', 'jobs', 'plan', 'qemu', 'cloudinit', 'spec', 'store', 'host', 'errors'];
    const wrong = files.flatMap((f) =>
      lower.includes(f.path.split('/')[0]!)
        ? f.imports.filter((i) => upper.has(i.split('/')[0]!)).map((i) => `${f.path} -> ${i}`)
        : [],
    );
    assert.deepEqual(wrong, []);
    const siblings = files.flatMap((f) => {
      const top = f.path.split('/')[0];
      const bad = top === 'lab' ? 'images' : top === 'images' ? 'lab' : undefined;
      return bad ? f.imports.filter((i) => i.startsWith(`${bad}/`)).map((i) => `${f.path} -> ${i}`) : [];
    });
    assert.deepEqual(siblings, [], 'lab/ and images/ meet only through interfaces handed in');
  });

  it('has no function over 120 lines', () => {
    const long = functionSizes(files).filter((s) => s.lines > 120);
    assert.deepEqual(
      long.map((s) => `${s.file}:${s.line} ${s.name} (${s.lines} lines)`),
      [],
    );
  });

  it('starts subprocesses only in host/subprocess.ts', () => {
    assert.deepEqual(spawnFiles(files), ['host/subprocess.ts']);
  });

  it('reads the environment only in host/settings.ts', () => {
    assert.deepEqual(envFiles(files), ['host/settings.ts']);
  });

  it('has no flat file over 300 lines in lab/', () => {
    const big = files.filter((f) => f.path.startsWith('lab/') && f.lines > 300).map((f) => `${f.path} ${f.lines}`);
    assert.deepEqual(big, []);
  });

  it('has no line over 120 characters', () => {
    assert.deepEqual(
      longLines(files).map((l) => `${l.file}:${l.line} (${l.length})`),
      [],
    );
  });
});
