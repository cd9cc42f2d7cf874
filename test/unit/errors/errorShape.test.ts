import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HTTP_ERROR_STATUS } from '../../../src/api/httpError.js';
import { BUILD_ERROR_KIND } from '../../../src/builds/buildError.js';
import { ImageError, IMAGE_ERROR_KIND } from '../../../src/images/imageError.js';
import { LabError, LAB_ERROR_KIND } from '../../../src/lab/labError.js';
import { STORE_ERROR_KIND } from '../../../src/store/storeError.js';

// The rule of #21: one constructor shape (code, message, options), snake_case codes, no default code.
const SRC = fileURLToPath(new URL('../../../../src/', import.meta.url));
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

function sources(dir: string): Array<{ file: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { file: relative(SRC, path), text: readFileSync(path, 'utf8') };
    });
}

describe('error shape', () => {
  const files = sources(SRC);
  // Internal signals caught before they reach a front door, each with its catcher.
  const internal = new Set(['Transient', 'RequestInvalid', 'TarFormatError']);

  it('every code table names snake_case codes only', () => {
    const tables = { HTTP_ERROR_STATUS, BUILD_ERROR_KIND, IMAGE_ERROR_KIND, LAB_ERROR_KIND, STORE_ERROR_KIND };
    for (const [name, table] of Object.entries(tables)) {
      for (const code of Object.keys(table)) assert.match(code, SNAKE, `${name}: ${code}`);
    }
  });

  it('every error class a person can see is a VmlabError family', () => {
    const families = new Set(['VmlabError']);
    const found: string[] = [];
    for (const { file, text } of files) {
      for (const m of text.matchAll(/class (\w+) extends (\w+)/g)) {
        if (!m[2]!.endsWith('Error')) continue;
        found.push(m[1]!);
        if (internal.has(m[1]!) || m[1] === 'VmlabError') continue;
        assert.ok(m[2] === 'VmlabError', `${file}: ${m[1]} extends ${m[2]}, not VmlabError`);
        families.add(m[1]!);
      }
    }
    assert.ok(families.size >= 8, `found ${[...families].join(', ')}`);
    for (const name of internal) assert.ok(found.includes(name), `${name} is gone: drop it from the list`);
  });

  it('every family takes (code, message, options); SpecError(issues) is the one departure', () => {
    let checked = 0;
    for (const { file, text } of files) {
      for (const m of text.matchAll(/class (\w+) extends VmlabError \{[\s\S]*?constructor\(([^)]*)\)/g)) {
        checked++;
        if (m[1] === 'SpecError') continue;
        const params = m[2]!
          .replace(/<[^>]*>/g, '')
          .split(',')
          .map((p) => p.trim().split(/[?:]/)[0]);
        assert.deepEqual(
          params.slice(0, 2),
          ['code', params[1] === 'reason' ? 'reason' : 'message'],
          `${file}: ${m[1]}`,
        );
        assert.ok(params.length === 3, `${file}: ${m[1]}(${m[2]}) takes its options as one object`);
      }
    }
    assert.ok(checked >= 7, `checked ${checked} constructors`);
  });

  it('every literal code at a throw site is snake_case', () => {
    let literals = 0;
    for (const { file, text } of files) {
      for (const m of text.matchAll(/new (\w+Error)\(\s*(['`])([^'`]*)\2/g)) {
        if (['Error', 'TypeError', 'RangeError'].includes(m[1]!) || internal.has(m[1]!)) continue;
        literals++;
        assert.match(m[3]!, SNAKE, `${file}: new ${m[1]}('${m[3]}')`);
      }
    }
    assert.ok(literals > 150, `only ${literals} throw sites found: the scan is broken`);
  });

  it('a code outside the table does not type-check, and none falls back to a default', () => {
    // @ts-expect-error: 'lab_failed' is not a LabErrorCode any more (it was the default of 21 throws)
    const e = new LabError('lab_failed', 'x');
    assert.equal(e.code, 'lab_failed');
    // @ts-expect-error: kebab-case codes are gone
    assert.equal(new ImageError('not-found', 'x').code, 'not-found');
  });
});
