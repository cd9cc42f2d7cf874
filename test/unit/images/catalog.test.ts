import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILTIN_CATALOG,
  findCatalogEntry,
  mergeCatalog,
  validateCatalogEntries,
  type CatalogEntry,
  type ChecksumStyle,
} from '../../../src/images/catalog.js';
import { assertSafeImageName } from '../../../src/images/inspect.js';
import { detectOs } from '../../../src/images/detect.js';
import { ImageError } from '../../../src/images/imageError.js';
import { assertIncludes } from '../../helpers/assertions.js';

/** Checksum file formats per distribution, from shared/reference/cloud-images.md. */
const REFERENCE_STYLE: Record<CatalogEntry['distro'], ChecksumStyle> = {
  ubuntu: 'gnu', // SHA256SUMS: <hex> *<file>
  debian: 'gnu', // SHA512SUMS: <hex>  <file>
  rocky: 'bsd', // <image>.CHECKSUM
  almalinux: 'gnu', // CHECKSUM
  fedora: 'bsd', // PGP clear-signed CHECKSUM
  'centos-stream': 'bsd', // <image>.SHA256SUM
  'opensuse-leap': 'gnu', // <image>.sha256
  alpine: 'bare', // <image>.sha512
};
const REFERENCE_USER: Record<CatalogEntry['distro'], string> = {
  ubuntu: 'ubuntu',
  debian: 'debian',
  rocky: 'rocky',
  almalinux: 'almalinux',
  fedora: 'fedora',
  'centos-stream': 'cloud-user',
  'opensuse-leap': 'opensuse',
  alpine: 'alpine',
};

function badInput(fn: () => unknown, code: ImageError['code'] = 'bad_input'): ImageError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ImageError, String(e));
    assert.equal(e.code, code);
    return e;
  }
  assert.fail('expected an ImageError');
}

const entry = (id: string) => BUILTIN_CATALOG.find((e) => e.id === id)!;

describe('images/catalog', () => {
  describe('BUILTIN_CATALOG', () => {
    it('has unique ids, valid as file names, with -aarch64 only on aarch64', () => {
      const ids = BUILTIN_CATALOG.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, `duplicates in ${ids.join(', ')}`);
      for (const e of BUILTIN_CATALOG) {
        assertSafeImageName(e.id);
        assert.equal(e.id.endsWith('-aarch64'), e.arch === 'aarch64', e.id);
      }
    });

    it('covers every distro version on both archs', () => {
      for (const id of [
        'ubuntu-22.04',
        'ubuntu-24.04',
        'debian-12',
        'debian-13',
        'rocky-9',
        'almalinux-9',
        'fedora-43',
        'fedora-44',
        'centos-stream-9',
        'opensuse-leap-15.6',
        'alpine-3.23',
      ]) {
        assert.ok(entry(id), id);
        assert.equal(entry(id).arch, 'x86_64');
        assert.equal(entry(`${id}-aarch64`)?.arch, 'aarch64', `${id}-aarch64`);
      }
    });

    it('uses the checksum style and default user the reference gives', () => {
      for (const e of BUILTIN_CATALOG) {
        assert.equal(e.checksum.style, REFERENCE_STYLE[e.distro], e.id);
        assert.equal(e.defaultUser, REFERENCE_USER[e.distro], e.id);
      }
    });

    it('is valid by its own schema, https only, qcow2 with cloud-init', () => {
      assert.equal(validateCatalogEntries(BUILTIN_CATALOG, 'builtin').length, BUILTIN_CATALOG.length);
      for (const e of BUILTIN_CATALOG) {
        assert.match(e.url, /^https:\/\//, e.id);
        assert.match(e.checksum.url, /^https:\/\//, e.id);
        assert.equal(e.format, 'qcow2');
        assert.equal(e.cloudInit, true);
      }
    });

    it('names files detectOs recognises as the same OS', () => {
      for (const e of BUILTIN_CATALOG) {
        const os = detectOs(e.url);
        assert.ok(os, e.url);
        assert.equal(os.distro, e.distro, e.id);
        assert.equal(os.version, e.version, e.id);
        assert.equal(os.arch, e.arch, e.id);
        assert.equal(os.defaultUser, e.defaultUser, e.id);
      }
    });

    it('puts checksum files where the reference says', () => {
      assert.equal(
        entry('ubuntu-24.04').checksum.url,
        'https://cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS',
      );
      assert.equal(
        entry('debian-12-aarch64').url,
        'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-arm64.qcow2',
      );
      assert.equal(entry('debian-13').checksum.url, 'https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS');
      assert.equal(entry('rocky-9').checksum.url, `${entry('rocky-9').url}.CHECKSUM`);
      assert.equal(
        entry('almalinux-9').checksum.url,
        'https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/CHECKSUM',
      );
      assert.equal(
        entry('fedora-43').checksum.url,
        'https://download.fedoraproject.org/pub/fedora/linux/releases/43/Cloud/x86_64/images/Fedora-Cloud-43-1.6-x86_64-CHECKSUM',
      );
      assert.equal(entry('centos-stream-9').checksum.url, `${entry('centos-stream-9').url}.SHA256SUM`);
      assert.equal(entry('opensuse-leap-15.6').checksum.url, `${entry('opensuse-leap-15.6').url}.sha256`);
      assert.equal(entry('alpine-3.23').checksum.url, `${entry('alpine-3.23').url}.sha512`);
      assert.equal(entry('alpine-3.23').firmware, 'uefi');
      assert.equal(entry('debian-12').firmware, undefined);
    });
  });

  describe('mergeCatalog', () => {
    it('overrides only the given fields of a built-in id (a mirror)', () => {
      const user = validateCatalogEntries(
        [
          {
            id: 'debian-12',
            url: 'https://mirror.example/debian-12.qcow2',
            checksum: { url: 'https://mirror.example/SHA512SUMS' },
          },
        ],
        'catalog.json',
      );
      const merged = mergeCatalog(BUILTIN_CATALOG, user);
      assert.equal(merged.length, BUILTIN_CATALOG.length);
      const d = merged.find((e) => e.id === 'debian-12')!;
      assert.deepEqual(d, {
        ...entry('debian-12'),
        url: 'https://mirror.example/debian-12.qcow2',
        checksum: { url: 'https://mirror.example/SHA512SUMS', style: 'gnu' },
      });
      // The built-in catalog itself is untouched.
      assert.equal(
        entry('debian-12').url,
        'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
      );
      assert.equal(entry('debian-12').checksum.url, 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS');
    });

    it('appends complete new entries and refuses incomplete ones', () => {
      const fresh: CatalogEntry = {
        ...entry('debian-12'),
        id: 'debian-12-dated',
        url: 'https://cloud.debian.org/images/cloud/bookworm/20250101-1/debian-12-genericcloud-amd64-20250101-1.qcow2',
      };
      const merged = mergeCatalog(BUILTIN_CATALOG, validateCatalogEntries({ images: [fresh] }, 'c.json'));
      assert.deepEqual(merged.at(-1), fresh);
      assert.equal(findCatalogEntry(merged, 'debian-12-dated'), merged.at(-1));
      const e = badInput(() => mergeCatalog(BUILTIN_CATALOG, [{ id: 'mine', url: 'https://x.example/a.qcow2' }]));
      assertIncludes(e.message, '"mine"');
      assertIncludes(e.message, 'checksum');
    });

    it('findCatalogEntry lists known ids for an unknown one', () => {
      const e = badInput(() => findCatalogEntry(BUILTIN_CATALOG, 'windows-11'), 'not_found');
      assert.equal(e.kind, 'not_found');
      assertIncludes(e.hint ?? '', 'debian-12');
    });
  });

  describe('validateCatalogEntries', () => {
    it('names the file and JSON path of every problem', () => {
      const e = badInput(() =>
        validateCatalogEntries(
          [
            { id: 'debian-12', url: 'https://ok.example/x.qcow2' },
            { id: 'x', url: 'ftp://mirror/x.qcow2', checksum: { style: 'md5' } },
            { id: '../evil' },
            { url: 'https://a.example/b' },
            { id: 'debian-12', urll: 'typo' },
          ],
          '/home/me/.config/vmlab/catalog.json',
        ),
      );
      for (const part of [
        '/home/me/.config/vmlab/catalog.json: [1].url: must be an http(s):// or file:// URL',
        '/home/me/.config/vmlab/catalog.json: [1].checksum.style:',
        '/home/me/.config/vmlab/catalog.json: [2].id:',
        '/home/me/.config/vmlab/catalog.json: [3].id:',
        '/home/me/.config/vmlab/catalog.json: [4]: Unrecognized key: "urll"',
      ]) {
        assertIncludes(e.message, part);
      }
      assertIncludes(e.hint ?? '', 'catalog.json');
    });

    it('paths point inside {"images": [...]} and report duplicate ids', () => {
      const e = badInput(() =>
        validateCatalogEntries({ images: [{ id: 'a' }, { id: 'a' }, { id: 'b', arch: 'riscv64' }] }, 'c.json'),
      );
      assertIncludes(e.message, 'c.json: images[2].arch:');
      const dup = badInput(() => validateCatalogEntries({ images: [{ id: 'a' }, { id: 'a' }] }, 'c.json'));
      assertIncludes(dup.message, 'c.json: images[1].id: duplicate id "a" (also at images[0])');
    });

    it('rejects a file that is not a list', () => {
      assertIncludes(
        badInput(() => validateCatalogEntries('hello', 'c.json')).message,
        'c.json: expected a JSON array',
      );
      assertIncludes(badInput(() => validateCatalogEntries({ entries: [] }, 'c.json')).message, 'c.json');
    });
  });
});
