import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findChecksum, parseChecksumArg, parseChecksums } from '../../../src/images/checksums.js';
import { ImageError } from '../../../src/images/imageError.js';

const A = 'a'.repeat(64);
const B = 'B'.repeat(64);
const C = 'c'.repeat(128);
const D = '0123456789abcdef'.repeat(4);

describe('parseChecksums', () => {
  it('reads GNU lines in text and binary mode, lowercasing the hex', () => {
    const text = `${A}  noble-server-cloudimg-amd64.img\n${B} *noble-server-cloudimg-arm64.img\r\n\n# comment\n${C}  debian-12.qcow2\n`;
    assert.deepEqual(parseChecksums(text), [
      { file: 'noble-server-cloudimg-amd64.img', algo: 'sha256', hex: A },
      { file: 'noble-server-cloudimg-arm64.img', algo: 'sha256', hex: B.toLowerCase() },
      { file: 'debian-12.qcow2', algo: 'sha512', hex: C },
    ]);
  });

  it('unescapes GNU names marked with a backslash', () => {
    assert.deepEqual(parseChecksums(`\\${A}  dir\\\\odd\\nname.img\n`), [
      { file: 'dir\\odd\nname.img', algo: 'sha256', hex: A },
    ]);
  });

  it('reads BSD tagged lines and takes the algorithm from the tag', () => {
    const text = `SHA256 (Fedora-Cloud-Base-41.qcow2) = ${D}\nSHA512 (weird (name).img) = ${C}\n`;
    assert.deepEqual(parseChecksums(text), [
      { file: 'Fedora-Cloud-Base-41.qcow2', algo: 'sha256', hex: D },
      { file: 'weird (name).img', algo: 'sha512', hex: C },
    ]);
  });

  it('drops a BSD line whose digest length does not fit its tag', () => {
    assert.deepEqual(parseChecksums(`SHA512 (x.img) = ${A}\n`), []);
  });

  it('ignores the armor, headers and signature of a PGP clear-signed file', () => {
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA256',
      '',
      '# Fedora-Cloud-41-1.4-x86_64-CHECKSUM',
      `SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2) = ${D}`,
      `- ${A}  dash-escaped.img`,
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iQIzBAEBCAAdFiEE' + 'f'.repeat(60),
      `${B}  not-really-in-the-signature.img`,
      '=abcd',
      '-----END PGP SIGNATURE-----',
      '',
    ].join('\n');
    assert.deepEqual(parseChecksums(text), [
      { file: 'Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2', algo: 'sha256', hex: D },
      { file: 'dash-escaped.img', algo: 'sha256', hex: A },
    ]);
  });

  it('reads a bare digest file with or without a trailing newline', () => {
    assert.deepEqual(parseChecksums(`${D}\n`), [{ file: null, algo: 'sha256', hex: D }]);
    assert.deepEqual(parseChecksums(C), [{ file: null, algo: 'sha512', hex: C }]);
  });

  it('skips digests of other lengths and lines of prose', () => {
    assert.deepEqual(parseChecksums(`${'d'.repeat(32)}  md5.img\nhello world\n<html>\n`), []);
  });
});

describe('findChecksum', () => {
  const sums = `${A}  images/one.img\n${D} *two.img\n`;

  it('matches on the base name of the listed file and of the wanted name', () => {
    assert.equal(findChecksum(sums, 'one.img')?.hex, A);
    assert.equal(findChecksum(sums, '/var/cache/vmlab/two.img')?.hex, D);
    assert.equal(findChecksum(sums, 'https://cloud.example.org/releases/24.04/two.img?x=1')?.hex, D);
  });

  it('prefers an exact name over a base-name match', () => {
    const text = `${A}  a/x.img\n${D}  b/x.img\n`;
    assert.equal(findChecksum(text, 'b/x.img')?.hex, D);
    assert.equal(findChecksum(text, 'x.img')?.hex, A);
  });

  it('returns undefined for a name not listed', () => {
    assert.equal(findChecksum(sums, 'three.img'), undefined);
  });

  it('lets a bare digest match any name', () => {
    assert.deepEqual(findChecksum(`${C}\n`, 'whatever.qcow2'), { file: null, algo: 'sha512', hex: C });
  });
});

describe('parseChecksumArg', () => {
  it('accepts sha256 and sha512 and lowercases the hex', () => {
    assert.deepEqual(parseChecksumArg(`sha256:${B}`), { algo: 'sha256', hex: B.toLowerCase() });
    assert.deepEqual(parseChecksumArg(`SHA512:${C}`), { algo: 'sha512', hex: C });
  });

  const bad = (arg: string, part: RegExp) =>
    assert.throws(
      () => parseChecksumArg(arg),
      (e: unknown) =>
        e instanceof ImageError && e.code === 'bad_input' && e.exitCode === 2 && part.test(e.message) && !!e.hint,
    );

  it('rejects a missing prefix, an unknown algorithm, non-hex and a wrong length', () => {
    bad(A, /no algorithm prefix/);
    bad(`md5:${'a'.repeat(32)}`, /"md5" is not supported/);
    bad(`sha256:${'g'.repeat(64)}`, /not hexadecimal/);
    bad(`sha256:${C}`, /64 hex digits, not 128/);
    bad('sha512:', /not hexadecimal|128 hex digits, not 0/);
  });
});
