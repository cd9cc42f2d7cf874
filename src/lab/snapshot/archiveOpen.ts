import { createHash } from 'node:crypto';
import { constants, lstatSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { qcow2Info } from '../../qemu/qemuImg.js';
import { isValidName } from '../../spec/names.js';
import {
  ARCHIVE_FORMAT,
  MANIFEST,
  MANIFEST_MAX_BYTES,
  membersProblem,
  partNameProblem,
  partsProblem,
  type ArchiveManifest,
} from './archiveParts.js';
import type { ImageFactsResolver } from '../node/hostProbe.js';
import { LabError } from '../labError.js';
import { TarFormatError, tarMembers, type TarMember } from './tarMembers.js';

/*
 * Opening a snapshot archive from someone else (a warm deploy's
 * --snapshot FILE): judged from its tar headers before a byte is unpacked,
 * unpacked by vmlab itself (no tar run, nothing through a link), every
 * part hashed, every image in it inspected before QEMU opens it.
 */

export interface OpenedArchive {
  file: string;
  dir: string;
  manifest: ArchiveManifest;
}

const corrupt = (file: string, why: string) =>
  new LabError('snapshot_archive_invalid', `${file} is not a usable vmlab snapshot: ${why}`, {
    hint: 'export it again: vmlab snapshot --name <name> --export FILE',
  });
/** What only a crafted archive holds: refused as unsafe, whoever made it. */
const unsafe = (file: string, why: string) =>
  new LabError('snapshot_archive_unsafe', `${file} is not a safe vmlab snapshot: ${why}`, {
    hint:
      'vmlab takes only what it exported: the manifest and the plain files it lists, each of its listed size; ' +
      'do not use this file, and export the snapshot again from its lab',
  });

/**
 * The unpacked file of a part the manifest lists, and only that: a regular
 * file (not a link) whose real path is inside the unpack dir.
 */
export function partFile(archive: OpenedArchive, part: string): string {
  const bad = partNameProblem(part);
  if (bad || !archive.manifest.parts.some((p) => p.path === part)) {
    throw unsafe(archive.file, bad ?? `${part} is not among the checked parts`);
  }
  const full = join(archive.dir, part);
  let real: string;
  try {
    real = lstatSync(full).isFile() ? realpathSync(full) : '';
  } catch {
    real = '';
  }
  if (real !== join(realpathSync(archive.dir), part)) {
    throw unsafe(archive.file, `part ${part} is not a plain file inside the unpacked archive`);
  }
  return full;
}

/** Why the manifest (its parts checked apart) cannot describe a snapshot, or undefined. */
function manifestProblem(m: ArchiveManifest): string | undefined {
  if (m?.format !== ARCHIVE_FORMAT) return `format is ${JSON.stringify(m?.format)}, expected "${ARCHIVE_FORMAT}"`;
  const nodes = typeof m.nodes === 'object' && m.nodes !== null;
  const whole = m.snapshot?.name && m.snapshot.kind === 'full' && nodes && Array.isArray(m.parts);
  if (!whole) return 'the manifest lacks the snapshot, nodes or parts';
  return undefined;
}

/**
 * Why the manifest names a file it does not list, or a base it does not
 * describe, or undefined. Overlays are moved into the lab: each is its own part.
 */
function referencesProblem(m: ArchiveManifest): string | undefined {
  const listed = new Map(m.parts.map((p) => [p.path, p]));
  const refs: Array<[string, unknown]> = [
    ['lab_key', m.lab_key],
    ["lab_key's .pub", `${m.lab_key}.pub`],
  ];
  const moved = new Set<unknown>();
  for (const [node, n] of Object.entries(m.nodes)) {
    if (!isValidName(node)) return `a node is named ${JSON.stringify(node)}`;
    const b = n?.base;
    if (typeof b !== 'object' || !b || typeof b.format !== 'string' || !/^[a-z0-9]+$/.test(b.format)) {
      return `${node}'s base has no usable format`;
    }
    refs.push([`${node}'s overlay`, n.overlay], [`${node}'s host_key`, n.host_key]);
    refs.push([`${node}'s host_key's .pub`, `${n.host_key}.pub`]);
    if (n.seed !== undefined) refs.push([`${node}'s seed`, n.seed]);
    if (moved.has(n.overlay)) return `${node}'s overlay ${JSON.stringify(n.overlay)} is another node's too`;
    moved.add(n.overlay);
    if (b.included !== undefined) {
      refs.push([`${node}'s included base`, b.included]);
      const part = listed.get(b.included);
      if (part && part.sha256 !== b.sha256) {
        return `${node}'s included base ${b.included} has sha256 ${part.sha256}, not the base's ${b.sha256}`;
      }
    }
  }
  const shared = Object.values(m.nodes).find((n) => n.base.included !== undefined && moved.has(n.base.included));
  if (shared) return `included base ${shared.base.included} is an overlay too`;
  const unlisted = refs.find(([, path]) => typeof path !== 'string' || !listed.has(path));
  if (unlisted) return `${unlisted[0]} ${JSON.stringify(unlisted[1])} is not among the listed, checked parts`;
  return undefined;
}

/**
 * Copy one member's bytes out of the tar into a new file (never through a
 * link), hashing them on the way: the next read and this write run while
 * this chunk is hashed.
 */
async function unpackPart(tar: FileHandle, m: TarMember, to: string): Promise<string> {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  const out = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const hash = createHash('sha256');
  const size = Math.min(1 << 20, Math.max(m.size, 1));
  let [buf, spare] = [Buffer.alloc(size), Buffer.alloc(size)];
  const readFrom = (b: Buffer, done: number) => tar.read(b, 0, Math.min(b.length, m.size - done), m.offset + done);
  try {
    let next = m.size > 0 ? readFrom(buf, 0) : undefined;
    for (let done = 0; next; ) {
      const { bytesRead } = await next;
      if (bytesRead === 0) throw new TarFormatError(`it ends inside ${m.name} (truncated?)`);
      const chunk = buf.subarray(0, bytesRead);
      const at = done;
      done += bytesRead;
      next = done < m.size ? readFrom(spare, done) : undefined;
      const written = out.write(chunk, 0, bytesRead, at);
      hash.update(chunk);
      if ((await written).bytesWritten !== bytesRead) {
        const hint = 'is there room on that filesystem?';
        throw new LabError('unpack_write_failed', `writing ${to} stopped short`, { hint });
      }
      [buf, spare] = [spare, buf];
    }
  } finally {
    await out.close();
  }
  return hash.digest('hex');
}

async function readManifest(file: string, members: readonly TarMember[]): Promise<ArchiveManifest> {
  const entry = members.find((m) => m.name.replace(/^(\.\/)+/, '') === MANIFEST);
  if (entry?.kind !== 'file') throw corrupt(file, `it holds no ${MANIFEST}`);
  if (entry.size > MANIFEST_MAX_BYTES) {
    throw unsafe(file, `member ${MANIFEST} is ${entry.size} bytes, more than a manifest's ${MANIFEST_MAX_BYTES}`);
  }
  const fd = await open(file, 'r');
  try {
    const buf = Buffer.alloc(entry.size);
    await fd.read(buf, 0, entry.size, entry.offset);
    return JSON.parse(buf.toString('utf8')) as ArchiveManifest;
  } catch (err) {
    throw corrupt(file, `${MANIFEST} is not JSON (${(err as Error).message})`);
  } finally {
    await fd.close();
  }
}

/**
 * Unpack an exported snapshot into `dir` and check it, as input from
 * someone else. From the tar headers alone, before a byte is unpacked: the
 * manifest's format; every file it names (lab key, overlays, host keys,
 * seeds, bases) a listed part with a plain name; every member the manifest
 * or a listed part, a plain file of exactly its listed size (no links, no
 * sparse members, the total no more than the archive). Then each part is
 * unpacked by vmlab itself (never through a link) and hashed on the way;
 * each overlay is checked as an untrusted image (qcow2, backed by the base
 * the manifest names, nothing else; holding the snapshot with its RAM
 * state) and each included base inspected through `images` exactly like a
 * spec's or an imported image, before QEMU ever opens one.
 */
export async function openArchive(file: string, dir: string, images: ImageFactsResolver): Promise<OpenedArchive> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let members: TarMember[];
  try {
    members = await tarMembers(file);
  } catch (err) {
    if (err instanceof TarFormatError) throw corrupt(file, `it is not a tar file vmlab can read: ${err.message}`);
    throw err;
  }
  const m = await readManifest(file, members);
  const bad = manifestProblem(m) ?? partsProblem(m.parts);
  if (bad) throw corrupt(file, bad);
  const unsafeWhy = referencesProblem(m) ?? membersProblem(members, m.parts, statSync(file).size);
  if (unsafeWhy) throw unsafe(file, unsafeWhy);

  const byPath = new Map(members.map((x) => [x.name.replace(/^(\.\/)+/, ''), x]));
  const tar = await open(file, 'r');
  try {
    for (const p of m.parts) {
      const got = await unpackPart(tar, byPath.get(p.path)!, join(dir, p.path));
      if (got !== p.sha256) throw corrupt(file, `${p.path} has sha256 ${got}, the manifest says ${p.sha256}`);
    }
  } catch (err) {
    if (err instanceof TarFormatError) throw corrupt(file, err.message);
    throw err;
  } finally {
    await tar.close();
  }
  const opened: OpenedArchive = { file, dir, manifest: m };
  for (const [node, n] of Object.entries(m.nodes)) {
    const overlay = partFile(opened, n.overlay);
    const info = await qcow2Info(overlay, `${file}: ${node}'s overlay`);
    const backing = info['backing-filename'];
    if (backing !== `${n.base.sha256}.${n.base.format}`) {
      const why = `${node}'s overlay is backed by ${JSON.stringify(backing)}, not by the base the manifest names`;
      throw corrupt(file, why);
    }
    if (info['format-specific']?.data?.['data-file']) {
      throw corrupt(file, `${node}'s overlay points at an external data file`);
    }
    if (!info.snapshots?.some((s) => s.name === m.snapshot.name && s['vm-state-size'] > 0)) {
      throw corrupt(file, `${node}'s overlay holds no snapshot "${m.snapshot.name}" with RAM state`);
    }
  }
  await checkIncludedBases(opened, images);
  return opened;
}

/** Each base the archive carries, inspected as any image from someone else (one naming a host file is refused). */
async function checkIncludedBases(archive: OpenedArchive, images: ImageFactsResolver): Promise<void> {
  const included = new Map<string, string>();
  for (const [node, n] of Object.entries(archive.manifest.nodes)) {
    if (n.base.included) included.set(n.base.included, node);
  }
  const paths = [...included.keys()].map((p) => partFile(archive, p));
  const facts = await images(paths);
  for (const [part, node] of included) {
    const f = facts[join(archive.dir, part)];
    const format = archive.manifest.nodes[node]!.base.format;
    const what = `${node}'s included base ${part}`;
    if (!f || f.problem) throw unsafe(archive.file, `${what}: ${f?.problem ?? 'it was not inspected'}`);
    if (f.format !== format) throw unsafe(archive.file, `${what} is ${f.format}, the manifest says ${format}`);
  }
}
