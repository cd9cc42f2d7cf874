import type { SnapshotRecord } from '../state/snapshotFacts.js';
import type { TarMember } from './tarMembers.js';

/*
 * What a snapshot archive may hold, as pure checks on its manifest and its
 * tar headers (lab/snapshotArchive.ts runs them before a byte is unpacked):
 * only the manifest and the parts it lists, each a regular file of exactly
 * the listed size, named inside the archive's own directories.
 */

export const ARCHIVE_FORMAT = 'vmlab-snapshot/1';

export interface ArchiveNode {
  overlay: string;
  seed?: string;
  host_key: string;
  base: { name: string; format: string; sha256: string; bytes: number; included?: string };
}

export interface ArchiveManifest {
  format: string;
  lab: string;
  exported: string;
  snapshot: SnapshotRecord;
  lab_key: string;
  nodes: Record<string, ArchiveNode>;
  parts: Array<{ path: string; sha256: string; bytes: number }>;
}

export const MANIFEST = 'manifest.json';
/** A manifest is a few KiB; more is not one vmlab wrote. */
export const MANIFEST_MAX_BYTES = 1 << 20;

/** The directories an export writes parts into. */
const PART_DIRS = ['disks', 'seeds', 'keys', 'base'];
const PART_RE = new RegExp(`^(${PART_DIRS.join('|')})/[A-Za-z0-9][A-Za-z0-9._-]*$`);

export interface ListedPart {
  path: string;
  sha256: string;
  bytes: number;
}

/** Why a part name from a manifest is not allowed, or undefined: "dir/file" in one of the export's dirs only. */
export function partNameProblem(p: unknown): string | undefined {
  if (typeof p !== 'string') return `a part name must be a string, got ${JSON.stringify(p)}`;
  if (!PART_RE.test(p) || p.includes('..')) {
    const rule = `${PART_DIRS.join('|')}/<file> (letters, digits, ".", "-", "_"; no "..", no other directories)`;
    return `part name ${JSON.stringify(p)} is not allowed: expected ${rule}`;
  }
  return undefined;
}

/** Why the manifest's parts list is unusable (names, digests, sizes, duplicates), or undefined. */
export function partsProblem(parts: unknown): string | undefined {
  if (!Array.isArray(parts)) return 'the manifest has no parts list';
  const seen = new Set<string>();
  for (const p of parts as Array<Partial<ListedPart>>) {
    const bad = partNameProblem(p?.path);
    if (bad) return bad;
    if (seen.has(p.path!)) return `part ${p.path} is listed twice`;
    seen.add(p.path!);
    if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256)) {
      return `part ${p.path} has sha256 ${JSON.stringify(p.sha256)}, expected 64 hex digits`;
    }
    if (!Number.isSafeInteger(p.bytes) || p.bytes! < 0) {
      return `part ${p.path} has bytes ${JSON.stringify(p.bytes)}, expected a whole number`;
    }
  }
  return undefined;
}

/** A member's name as a path inside the archive ("./disks/a" is "disks/a", "disks/" is "disks"). */
const memberPath = (name: string) => name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

const KIND_WORDS: Record<string, string> = {
  symlink: 'a symbolic link',
  hardlink: 'a hard link',
  device: 'a device',
  fifo: 'a FIFO',
  other: 'of a tar type vmlab does not unpack',
};

/**
 * Why the archive's members do not match its manifest, or undefined: each
 * member is the manifest, a listed part or a directory of one; no links,
 * devices or sparse members; no name twice; every part there with exactly
 * its listed size; and all of them no more than the archive's own size (a
 * plain tar stores every byte it unpacks). Run on the headers alone, so a
 * lying size is refused before anything is unpacked or hashed.
 */
export function membersProblem(
  members: readonly TarMember[],
  parts: readonly ListedPart[],
  archiveBytes: number,
): string | undefined {
  const listed = new Map(parts.map((p) => [p.path, p]));
  const dirs = new Set(parts.map((p) => p.path.split('/')[0]!));
  const seen = new Set<string>();
  for (const m of members) {
    const path = memberPath(m.name);
    const label = JSON.stringify(m.name);
    if (m.kind === 'symlink' || m.kind === 'hardlink') {
      const to = JSON.stringify(m.target ?? '');
      return `member ${label} is ${KIND_WORDS[m.kind]} (to ${to}): an archive holds plain files only`;
    }
    if (m.kind === 'dir') {
      if (path !== '' && path !== '.' && !dirs.has(path)) return `member ${label} is a directory no listed part is in`;
      continue;
    }
    if (m.kind === 'sparse') {
      const why = 'vmlab exports never are; re-pack it without --sparse';
      return `member ${label} is stored sparse (${m.size} bytes unpacked): ${why}`;
    }
    if (m.kind !== 'file') return `member ${label} is ${KIND_WORDS[m.kind]}: an archive holds plain files only`;
    if (seen.has(path)) return `member ${label} is in the archive twice`;
    seen.add(path);
    if (path === MANIFEST) {
      if (m.size > MANIFEST_MAX_BYTES) {
        return `member ${label} is ${m.size} bytes, more than a manifest's ${MANIFEST_MAX_BYTES}`;
      }
      continue;
    }
    const p = listed.get(path);
    if (!p) return `member ${label} is not a part the manifest lists`;
    if (m.size !== p.bytes) return `member ${label} is ${m.size} bytes, the manifest lists ${p.bytes}`;
  }
  const missing = parts.find((p) => !seen.has(p.path));
  if (missing) return `part ${missing.path} is listed in the manifest but not in the archive`;
  const total = parts.reduce((s, p) => s + p.bytes, 0);
  if (total > archiveBytes) return `the parts add up to ${total} bytes, more than the archive's own ${archiveBytes}`;
  return undefined;
}
