import { z } from 'zod';
import { formatIssue, jsonPath, type SpecIssue } from '../spec/specError.js';
import type { Arch, Distro } from './detect.js';
import { ImageError } from './imageError.js';

/**
 * How a checksum file lists digests:
 * - `gnu`:  `<hex>  <file>` or `<hex> *<file>` (sha256sum/sha512sum output)
 * - `bsd`:  `SHA256 (<file>) = <hex>`, possibly inside a PGP clear-signed block
 * - `bare`: the hex digest alone
 * The algorithm follows from the file name or the digest length (64 hex = sha256, 128 = sha512).
 */
export type ChecksumStyle = 'gnu' | 'bsd' | 'bare';

export interface CatalogEntry {
  /** `debian-12`, `debian-12-aarch64`: x86_64 has no suffix. */
  id: string;
  name: string;
  distro: Distro;
  version: string;
  arch: Arch;
  url: string;
  checksum: { url: string; style: ChecksumStyle };
  format: 'qcow2';
  defaultUser: string;
  cloudInit: true;
  /** Boots only with UEFI firmware (OVMF on x86_64, AAVMF on aarch64). */
  firmware?: 'uefi';
}

// ---------------------------------------------------------------- built-in entries
// Facts from docs/reference cloud-images.md (distribution layouts as of 2026).
// Undated "latest" URLs are rebuilt in place: fetch their checksum fresh every time.

type Seed = Omit<CatalogEntry, 'id' | 'arch' | 'url' | 'checksum' | 'format' | 'cloudInit'>;

/**
 * One entry per arch; aarch64 gets the `-aarch64` id suffix and UEFI firmware (the QEMU virt machine boots disks
 * through UEFI).
 */
function entries(
  seed: Seed & { baseId: string },
  archs: Arch[],
  at: (arch: Arch) => { url: string; checksum: CatalogEntry['checksum'] },
): CatalogEntry[] {
  return archs.map((arch) => {
    const { baseId, ...rest } = seed;
    const e: CatalogEntry = {
      id: arch === 'x86_64' ? baseId : `${baseId}-aarch64`,
      ...rest,
      name: `${seed.name}, ${arch}`,
      arch,
      ...at(arch),
      format: 'qcow2',
      cloudInit: true,
    };
    if (arch === 'aarch64') e.firmware = 'uefi';
    return e;
  });
}

const both: Arch[] = ['x86_64', 'aarch64'];
const deb = (arch: Arch) => (arch === 'x86_64' ? 'amd64' : 'arm64');
const dir = (url: string) => url.slice(0, url.lastIndexOf('/') + 1);

function ubuntu(version: string, codename: string): CatalogEntry[] {
  return entries(
    {
      baseId: `ubuntu-${version}`,
      name: `Ubuntu ${version} LTS (${codename})`,
      distro: 'ubuntu',
      version,
      defaultUser: 'ubuntu',
    },
    both,
    (arch) => {
      // The .img is qcow2. Dated alternative: release-YYYYMMDD/ instead of release/.
      const url =
        `https://cloud-images.ubuntu.com/releases/${codename}/release/` +
        `ubuntu-${version}-server-cloudimg-${deb(arch)}.img`;
      return { url, checksum: { url: dir(url) + 'SHA256SUMS', style: 'gnu' } };
    },
  );
}

function debian(version: string, codename: string): CatalogEntry[] {
  return entries(
    {
      baseId: `debian-${version}`,
      name: `Debian ${version} (${codename})`,
      distro: 'debian',
      version,
      defaultUser: 'debian',
    },
    both,
    (arch) => {
      const url =
        `https://cloud.debian.org/images/cloud/${codename}/latest/` +
        `debian-${version}-genericcloud-${deb(arch)}.qcow2`;
      return { url, checksum: { url: dir(url) + 'SHA512SUMS', style: 'gnu' } };
    },
  );
}

/**
 * Fedora publishes no "latest" name: the URL needs the compose build
 * number. 43 → 1.6 is from the reference; 44 → 1.7 is a GUESS that MUST be
 * checked against https://download.fedoraproject.org/pub/fedora/linux/releases/44/Cloud/
 * (and both updated when Fedora respins). Override with a user catalog entry meanwhile.
 */
const FEDORA_BUILDS: Record<string, string> = { '43': '1.6', '44': '1.7' /* unverified */ };

function fedora(version: string): CatalogEntry[] {
  const build = FEDORA_BUILDS[version]!;
  return entries(
    { baseId: `fedora-${version}`, name: `Fedora Cloud ${version}`, distro: 'fedora', version, defaultUser: 'fedora' },
    both,
    (arch) => {
      const base = `https://download.fedoraproject.org/pub/fedora/linux/releases/${version}/Cloud/${arch}/images/`;
      // The CHECKSUM file is PGP clear-signed, BSD lines inside.
      return {
        url: `${base}Fedora-Cloud-Base-Generic-${version}-${build}.${arch}.qcow2`,
        checksum: { url: `${base}Fedora-Cloud-${version}-${build}-${arch}-CHECKSUM`, style: 'bsd' },
      };
    },
  );
}

export const BUILTIN_CATALOG: CatalogEntry[] = [
  ...ubuntu('22.04', 'jammy'),
  ...ubuntu('24.04', 'noble'),
  ...debian('12', 'bookworm'),
  ...debian('13', 'trixie'),
  ...entries(
    { baseId: 'rocky-9', name: 'Rocky Linux 9', distro: 'rocky', version: '9', defaultUser: 'rocky' },
    both,
    (arch) => {
      const url = `https://dl.rockylinux.org/pub/rocky/9/images/${arch}/Rocky-9-GenericCloud.latest.${arch}.qcow2`;
      return { url, checksum: { url: `${url}.CHECKSUM`, style: 'bsd' } };
    },
  ),
  ...entries(
    { baseId: 'almalinux-9', name: 'AlmaLinux 9', distro: 'almalinux', version: '9', defaultUser: 'almalinux' },
    both,
    (arch) => {
      const url =
        `https://repo.almalinux.org/almalinux/9/cloud/${arch}/images/` +
        `AlmaLinux-9-GenericCloud-latest.${arch}.qcow2`;
      return { url, checksum: { url: dir(url) + 'CHECKSUM', style: 'gnu' } };
    },
  ),
  ...fedora('43'),
  ...fedora('44'),
  ...entries(
    {
      baseId: 'centos-stream-9',
      name: 'CentOS Stream 9',
      distro: 'centos-stream',
      version: '9',
      defaultUser: 'cloud-user',
    },
    both,
    (arch) => {
      const url =
        `https://cloud.centos.org/centos/9-stream/${arch}/images/` +
        `CentOS-Stream-GenericCloud-9-latest.${arch}.qcow2`;
      return { url, checksum: { url: `${url}.SHA256SUM`, style: 'bsd' } };
    },
  ),
  // Default user not confirmed (cloud-init's SUSE default); verify on a real boot.
  ...entries(
    {
      baseId: 'opensuse-leap-15.6',
      name: 'openSUSE Leap 15.6 Minimal VM',
      distro: 'opensuse-leap',
      version: '15.6',
      defaultUser: 'opensuse',
    },
    both,
    (arch) => {
      const url =
        'https://download.opensuse.org/distribution/leap/15.6/appliances/' +
        `openSUSE-Leap-15.6-Minimal-VM.${arch}-Cloud.qcow2`;
      return { url, checksum: { url: `${url}.sha256`, style: 'gnu' } };
    },
  ),
  // The cloud-init images are UEFI only on both archs: they need OVMF/AAVMF.
  ...entries(
    {
      baseId: 'alpine-3.23',
      name: 'Alpine Linux 3.23',
      distro: 'alpine',
      version: '3.23',
      defaultUser: 'alpine',
      firmware: 'uefi',
    },
    both,
    (arch) => {
      const url =
        'https://dl-cdn.alpinelinux.org/alpine/v3.23/releases/cloud/' +
        `nocloud_alpine-3.23.4-${arch}-uefi-cloudinit-r0.qcow2`;
      return { url, checksum: { url: `${url}.sha512`, style: 'bare' } };
    },
  ),
];

// ---------------------------------------------------------------- user catalogs

const ID_RULE =
  'lowercase letters, digits, ".", "-" and "_", starting with a letter or digit (e.g. "debian-12-mirror")';
const idSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, `must be ${ID_RULE}`)
  .refine((s) => !s.includes('..'), 'must not contain ".."');
const urlSchema = z.string().regex(/^(https?|file):\/\/\S+$/, 'must be an http(s):// or file:// URL');
const distros = [
  'ubuntu',
  'debian',
  'rocky',
  'almalinux',
  'fedora',
  'centos-stream',
  'opensuse-leap',
  'alpine',
] as const satisfies readonly Distro[];

const entrySchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1),
  distro: z.enum(distros),
  version: z.string().min(1),
  arch: z.enum(['x86_64', 'aarch64']),
  url: urlSchema,
  checksum: z.strictObject({ url: urlSchema, style: z.enum(['gnu', 'bsd', 'bare']) }),
  format: z.literal('qcow2'),
  defaultUser: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a Linux user name'),
  cloudInit: z.literal(true),
  firmware: z.literal('uefi').optional(),
});

const REQUIRED_FIELDS = Object.keys(entrySchema.shape)
  .filter((k) => k !== 'firmware')
  .join(', ');

/**
 * A user catalog entry: a complete new image, or only the fields to change on a built-in id (e.g. `url` and
 * `checksum.url` for a mirror).
 */
const userEntrySchema = entrySchema.partial().extend({
  id: idSchema,
  checksum: entrySchema.shape.checksum.partial().optional(),
});
export type UserCatalogEntry = z.infer<typeof userEntrySchema>;

const listSchema = z.array(userEntrySchema);
const fileSchema = z.strictObject({ images: listSchema });

/**
 * Validate a user catalog (parsed JSON: an array of entries, or
 * `{ "images": [...] }`). Every problem is reported at once, each with the
 * file and JSON path; throws ImageError('bad_input').
 */
export function validateCatalogEntries(data: unknown, file: string): UserCatalogEntry[] {
  // Pick the shape ourselves so errors point into it rather than at a union.
  const issues: SpecIssue[] = [];
  if (data === null || typeof data !== 'object') {
    throw new ImageError(
      'bad_input',
      formatIssue({ file, path: '', message: 'expected a JSON array of image entries or {"images": [...]}' }),
      {
        hint:
          `fix ${file}: e.g. ` +
          '[{"id": "debian-12", "url": "https://mirror.example/debian-12-genericcloud-amd64.qcow2"}]',
      },
    );
  }
  const result = Array.isArray(data) ? listSchema.safeParse(data) : fileSchema.safeParse(data);
  let list: UserCatalogEntry[] = [];
  if (!result.success) {
    for (const i of result.error.issues)
      issues.push({ file, path: jsonPath(i.path), message: i.message.replace(/^Invalid input: /, '') });
  } else {
    list = Array.isArray(result.data) ? result.data : result.data.images;
    const prefix = Array.isArray(data) ? [] : ['images'];
    const seen = new Map<string, number>();
    list.forEach((e, i) => {
      const first = seen.get(e.id);
      if (first !== undefined)
        issues.push({
          file,
          path: jsonPath([...prefix, i, 'id']),
          message: `duplicate id "${e.id}" (also at ${jsonPath([...prefix, first])})`,
        });
      else seen.set(e.id, i);
    });
  }
  if (issues.length > 0) {
    const message =
      issues.length === 1
        ? formatIssue(issues[0]!)
        : `${issues.length} problems in the image catalog:\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n');
    throw new ImageError('bad_input', message, {
      hint: `fix ${file}: each entry needs an "id"; a new id needs every field (${REQUIRED_FIELDS})`,
    });
  }
  return list;
}

/**
 * The built-in catalog with user entries applied in order: an entry with
 * a built-in (or earlier user) id changes only the fields it gives
 * (`checksum` is merged field by field); a new id must be complete.
 */
export function mergeCatalog(builtin: readonly CatalogEntry[], user: readonly UserCatalogEntry[]): CatalogEntry[] {
  const out = builtin.map((e) => ({ ...e, checksum: { ...e.checksum } }));
  const index = new Map(out.map((e, i) => [e.id, i]));
  for (const u of user) {
    const at = index.get(u.id);
    const base = at === undefined ? undefined : out[at]!;
    const merged = {
      ...base,
      ...stripUndefined(u),
      checksum: { ...base?.checksum, ...stripUndefined(u.checksum ?? {}) },
    };
    const check = entrySchema.safeParse(merged);
    if (!check.success) {
      const problems = check.error.issues
        .map((i) => `${jsonPath(i.path) || '(entry)'}: ${i.message.replace(/^Invalid input: /, '')}`)
        .join('; ');
      throw new ImageError(
        'bad_input',
        base
          ? `catalog entry "${u.id}" overrides the built-in entry with invalid values: ${problems}`
          : `catalog entry "${u.id}" is not a built-in image and is incomplete: ${problems}`,
        {
          hint: base
            ? 'fix the overriding fields'
            : `give every field (${REQUIRED_FIELDS}), or use a built-in id to override only some`,
        },
      );
    }
    const entry = check.data as CatalogEntry;
    if (entry.firmware === undefined) delete entry.firmware;
    if (at === undefined) {
      index.set(entry.id, out.length);
      out.push(entry);
    } else out[at] = entry;
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The entry for an id, or an ImageError listing what exists. */
export function findCatalogEntry(catalog: readonly CatalogEntry[], id: string): CatalogEntry {
  const e = catalog.find((c) => c.id === id);
  if (e) return e;
  throw new ImageError('not_found', `no image "${id}" in the catalog`, {
    hint: `known images: ${catalog.map((c) => c.id).join(', ')}`,
  });
}
