import { createHash } from 'node:crypto';
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { LabPlan } from '../plan/labPlan.js';
import { hashFile } from '../host/fileDigest.js';
import { pidAfter, removeLeftByDead } from '../host/leftovers.js';
import { withLabLock } from '../host/lock.js';
import { writeFileAtomic } from '../host/atomicWrite.js';
import type { Reporter } from '../host/reporter.js';
import { QEMU_IMG } from '../qemu/qemuImg.js';
import { run, tailLines } from '../qemu/run.js';
import { isValidName } from '../spec/names.js';
import { MANIFEST, MANIFEST_MAX_BYTES, membersProblem, partNameProblem, partsProblem } from './archiveParts.js';
import type { ImageFactsResolver } from './hostProbe.js';
import { LabError } from './labError.js';
import { loadLab, type LabRef } from './labSelect.js';
import { nodeIsUp } from './nodeControl.js';
import { checkSnapshotName, findSnapshot, markPaused, overlayInfo, qemuImgSnapshot, qmp, resumeAbandoned, resumeAll } from './snapshot.js';
import { snapshotMismatches, type SnapshotRecord } from './snapshotFacts.js';
import { TarFormatError, tarMembers, type TarMember } from './tarMembers.js';

/*
 * A snapshot as one portable file (seed 002's "image with an embedded
 * checkpoint", for a whole lab): a tar of each node's overlay (holding the
 * internal snapshot with its RAM), seed, host key, the lab's key, and a
 * manifest with the snapshot's facts and the sha256 of every part. Base
 * images are referenced by sha256; --with-base carries them too. The file
 * holds private keys: it is written 0600.
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

/** Where `vmlab snapshot --export` puts a lab's snapshot when no file is named, and where a warm deploy finds it by name. */
export const storedArchivePath = (root: string, lab: string, name: string) => join(root, 'snapshots', lab, `${name}.tar`);

/** A bare name (no "/", no ".") means the store, as lima and docker tell a name from a path. */
export const isStoreName = (arg: string) => isValidName(arg) && !/[./]/.test(arg);

/** The state root of a lab's dir (<root>/labs/<lab>). */
const rootOf = (labDirPath: string) => dirname(dirname(labDirPath));

export interface ExportResult {
  file: string;
  bytes: number;
  parts: number;
  base_included: boolean;
  paused_ms: number;
  took_ms: number;
}

/** The snapshot's base images' digests, each file hashed once. */
async function baseDigests(plan: LabPlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of new Set(plan.nodes.map((n) => n.image.path))) out.set(p, (await hashFile(p, ['sha256'])).sha256!);
  return out;
}

export const copyFast = (from: string, to: string) => copyFileSync(from, to, constants.COPYFILE_FICLONE);

export async function qemuImg(args: string[], what: string): Promise<string> {
  const r = await run([QEMU_IMG, ...args], { timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new LabError(`${what}: qemu-img ${args[0]} failed: ${tailLines(r.stderr, 3) || `exit code ${r.exitCode}`}`, 'is the file complete and readable?');
  return r.stdout;
}

/**
 * Write snapshot `name` of a lab into one file. Running nodes are paused
 * while their overlays are copied (QEMU flushes its disks on pause, and
 * a reflink makes the copy O(1) where the filesystem can), then resumed.
 */
export async function exportSnapshot(ref: LabRef, name: string, file: string, opts: { withBase: boolean }, reporter: Reporter): Promise<ExportResult> {
  checkSnapshotName(name);
  const t0 = Date.now();
  const out = resolve(isStoreName(file) ? storedArchivePath(rootOf(ref.dir), ref.name, file) : file);
  if (existsSync(out) && statSync(out).isDirectory()) throw new LabError(`${out} is a directory`, 'give the file to write, e.g. --export lab.tar', 'input', 'invalid_path');
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  // Beside the target, named with our pid: what a killed export left there goes first.
  for (const kind of ['parts', 'tmp']) removeLeftByDead(dirname(out), pidAfter(`${basename(out)}.${kind}-`));
  const staging = `${out}.parts-${process.pid}`;
  const state0 = loadLab(ref);
  return withLabLock(state0.plan.files.lock, ref.name, async () => {
    const state = loadLab(ref);
    await resumeAbandoned(state, reporter);
    const plan = state.plan;
    const rec = findSnapshot(state, name);
    if (rec.kind !== 'full') throw new LabError(`"${name}" is a disk-only snapshot: an export is for starting warm, which needs the RAM state`, `take a full snapshot of the running lab: vmlab snapshot --name <name> ${ref.name}`, 'conflict', 'snapshot_disk_only');
    rmSync(staging, { recursive: true, force: true });
    let pausedMs = 0;
    try {
      for (const d of ['disks', 'seeds', 'keys', 'base']) mkdirSync(join(staging, d), { recursive: true, mode: 0o700 });
      const digests = await baseDigests(plan);

      const up = plan.nodes.filter((n) => nodeIsUp(state, n.name));
      const paused: typeof up = [];
      const pausedAt = Date.now();
      markPaused(state);
      try {
        for (const n of up) {
          await qmp(n, 'stop');
          paused.push(n);
        }
        for (const n of plan.nodes) copyFast(n.files.overlay, join(staging, 'disks', `${n.name}.qcow2`));
      } finally {
        await resumeAll(state, paused, reporter);
        pausedMs = paused.length ? Date.now() - pausedAt : 0;
      }

      const nodes: Record<string, ArchiveNode> = {};
      for (const n of plan.nodes) {
        const sha = digests.get(n.image.path)!;
        const baseName = `${sha}.${n.image.format}`;
        const overlay = `disks/${n.name}.qcow2`;
        // Only this snapshot travels; the copy names its base by digest (the importing host points it at its own copy).
        for (const o of (await overlayInfo(join(staging, overlay))).snapshots) if (o.name !== name) await qemuImgSnapshot('-d', o.name, join(staging, overlay));
        await qemuImg(['rebase', '-u', '-b', baseName, '-F', n.image.format, join(staging, overlay)], `${n.name}'s overlay`);
        const hostKey = `keys/${basename(n.files.hostKey)}`;
        copyFileSync(n.files.hostKey, join(staging, hostKey));
        copyFileSync(`${n.files.hostKey}.pub`, join(staging, `${hostKey}.pub`));
        let seed: string | undefined;
        if (n.seed) {
          seed = `seeds/${n.name}.iso`;
          copyFileSync(n.seed.path, join(staging, seed));
        }
        let included: string | undefined;
        if (opts.withBase) {
          included = `base/${baseName}`;
          if (!existsSync(join(staging, included))) copyFast(n.image.path, join(staging, included));
        }
        nodes[n.name] = { overlay, host_key: hostKey, ...(seed ? { seed } : {}), base: { name: basename(n.image.path), format: n.image.format, sha256: sha, bytes: statSync(n.image.path).size, ...(included ? { included } : {}) } };
      }
      copyFileSync(plan.files.labKey, join(staging, 'keys/lab.key'));
      copyFileSync(plan.files.labKeyPub, join(staging, 'keys/lab.key.pub'));

      const paths = ['disks', 'seeds', 'keys', 'base'].flatMap((d) => readdirSync(join(staging, d)).map((f) => `${d}/${f}`));
      const parts = await Promise.all(paths.map(async (p) => ({ path: p, sha256: (await hashFile(join(staging, p), ['sha256'])).sha256!, bytes: statSync(join(staging, p)).size })));
      const manifest: ArchiveManifest = { format: ARCHIVE_FORMAT, lab: ref.name, exported: new Date().toISOString(), snapshot: rec, lab_key: 'keys/lab.key', nodes, parts };
      writeFileAtomic(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 0o600);

      const tmp = `${out}.tmp-${process.pid}`;
      const r = await run(['tar', '-cf', tmp, '-C', staging, 'manifest.json', ...paths], { timeoutMs: 3_600_000 });
      if (r.exitCode !== 0) {
        rmSync(tmp, { force: true });
        throw new LabError(`writing ${out} failed: ${tailLines(r.stderr, 3)}`, 'is there room on that filesystem?');
      }
      chmodSync(tmp, 0o600);
      renameSync(tmp, out);
      reporter.verbose(`exported "${name}" of lab ${ref.name}: ${parts.length} parts into ${out}`);
      return { file: out, bytes: statSync(out).size, parts: parts.length, base_included: opts.withBase, paused_ms: pausedMs, took_ms: Date.now() - t0 };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
}

export interface OpenedArchive {
  file: string;
  dir: string;
  manifest: ArchiveManifest;
}

const corrupt = (file: string, why: string) => new LabError(`${file} is not a usable vmlab snapshot: ${why}`, 'export it again: vmlab snapshot --name <name> --export FILE', 'input', 'snapshot_archive_invalid');
/** What only a crafted archive holds: refused as unsafe, whoever made it. */
const unsafe = (file: string, why: string) =>
  new LabError(
    `${file} is not a safe vmlab snapshot: ${why}`,
    'vmlab takes only what it exported: the manifest and the plain files it lists, each of its listed size; ' +
      'do not use this file, and export the snapshot again from its lab',
    'input',
    'snapshot_archive_unsafe',
  );

/** `FILE`, or NAME: a snapshot exported into the store for this lab. */
export function findArchive(root: string, lab: string, fileOrName: string): string {
  const stored = storedArchivePath(root, lab, fileOrName);
  if (isStoreName(fileOrName) && existsSync(stored)) return stored;
  if (!isStoreName(fileOrName) && existsSync(fileOrName)) return resolve(fileOrName);
  const dir = dirname(stored);
  const have = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tar')).map((f) => f.slice(0, -4)) : [];
  throw new LabError(
    `no snapshot file "${fileOrName}", and lab "${lab}" has no exported snapshot of that name${have.length ? ` (it has: ${have.join(', ')})` : ''}`,
    `export one from the running lab: vmlab snapshot --name <snapshot> --export ${isStoreName(fileOrName) ? fileOrName : 'FILE'} ${lab}`,
    'not_found',
    'snapshot_not_found',
  );
}

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
  const refs: Array<[string, unknown]> = [['lab_key', m.lab_key], ['lab_key\'s .pub', `${m.lab_key}.pub`]];
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
      if ((await written).bytesWritten !== bytesRead) throw new LabError(`writing ${to} stopped short`, 'is there room on that filesystem?');
      [buf, spare] = [spare, buf];
    }
  } finally {
    await out.close();
  }
  return hash.digest('hex');
}

async function readManifest(file: string, members: readonly TarMember[]): Promise<ArchiveManifest> {
  const entry = members.find((m) => m.name.replace(/^(\.\/)+/, '') === MANIFEST);
  if (!entry || entry.kind !== 'file') throw corrupt(file, `it holds no ${MANIFEST}`);
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
    const text = await qemuImg(['info', '--output=json', '-f', 'qcow2', overlay], `${file}: ${node}'s overlay`);
    const info = JSON.parse(text) as {
      format?: string;
      'backing-filename'?: string;
      'format-specific'?: { data?: { 'data-file'?: string } };
      snapshots?: Array<{ name: string; 'vm-state-size': number }>;
    };
    if (info['backing-filename'] !== `${n.base.sha256}.${n.base.format}`) throw corrupt(file, `${node}'s overlay is backed by ${JSON.stringify(info['backing-filename'])}, not by the base the manifest names`);
    if (info['format-specific']?.data?.['data-file']) throw corrupt(file, `${node}'s overlay points at an external data file`);
    if (!info.snapshots?.some((s) => s.name === m.snapshot.name && s['vm-state-size'] > 0)) throw corrupt(file, `${node}'s overlay holds no snapshot "${m.snapshot.name}" with RAM state`);
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

/** Which base image each node's overlay goes on top of. */
export type WarmBases = Record<string, { path: string; format: string }>;

/**
 * Can this plan start from this snapshot? The nodes, devices, accelerator
 * and QEMU version must be those it was saved with, and each base image
 * the one it was taken on (by sha256), or carried in the file.
 */
export async function checkWarmStart(plan: LabPlan, archive: OpenedArchive, qemuVersion: string): Promise<WarmBases> {
  const rec = archive.manifest.snapshot;
  const diffs = snapshotMismatches(rec, plan.nodes.map((n) => ({ plan: n, accel: plan.accel, qemu_version: qemuVersion })));
  const digests = await baseDigests(plan);
  const bases: WarmBases = {};
  for (const n of plan.nodes) {
    const want = archive.manifest.nodes[n.name];
    if (!want) continue; // a node set mismatch is reported by snapshotMismatches
    if (digests.get(n.image.path) === want.base.sha256) bases[n.name] = { path: n.image.path, format: n.image.format };
    else if (want.base.included) bases[n.name] = { path: partFile(archive, want.base.included), format: want.base.format };
    else diffs.push(`${n.name} base image: the snapshot was taken on ${want.base.name} (sha256 ${want.base.sha256.slice(0, 12)}…), the spec gives ${n.image.path} (sha256 ${digests.get(n.image.path)!.slice(0, 12)}…)`);
  }
  if (diffs.length) {
    throw new LabError(
      `snapshot "${rec.name}" (${archive.file}) cannot start lab "${plan.name}": ${diffs.join('; ')}`,
      'deploy it with the spec, images, QEMU and accelerator it was taken with (a snapshot taken under KVM does not load under TCG, nor the other way round); export with --with-base to carry the base images',
      'conflict',
      'snapshot_mismatch',
    );
  }
  return bases;
}

/** What a warm deploy starts from: the checked archive and each node's base. */
export interface WarmStart {
  archive: OpenedArchive;
  bases: WarmBases;
}

/** rename, or copy where the two are on different filesystems. */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFast(from, to);
    rmSync(from, { force: true });
  }
}

/**
 * Put a warm start's files where the lab's plan expects them: the lab's key
 * and host keys the guests already trust, each overlay (re-pointed at this
 * host's base image) and the seeds the guests booted with.
 */
export async function placeWarmFiles(plan: LabPlan, warm: WarmStart): Promise<void> {
  const { dir, manifest } = warm.archive;
  // Only listed, checked parts, each a plain file inside the unpack dir (partFile refuses anything else).
  const put = (part: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    copyFileSync(partFile(warm.archive, part), to);
    chmodSync(to, 0o600);
  };
  put(manifest.lab_key, plan.files.labKey);
  put(`${manifest.lab_key}.pub`, plan.files.labKeyPub);
  for (const n of plan.nodes) {
    const a = manifest.nodes[n.name]!;
    put(a.host_key, n.files.hostKey);
    put(`${a.host_key}.pub`, `${n.files.hostKey}.pub`);
    if (n.seed && a.seed) put(a.seed, n.seed.path);
    let base = warm.bases[n.name]!;
    if (base.path.startsWith(`${dir}/`)) {
      // A base carried in the file lives with the lab from now on.
      const kept = join(dirname(n.files.overlay), `base-${basename(base.path)}`);
      if (!existsSync(kept)) moveFile(partFile(warm.archive, a.base.included!), kept);
      base = { ...base, path: kept };
    }
    moveFile(partFile(warm.archive, a.overlay), n.files.overlay);
    await qemuImg(['rebase', '-u', '-b', base.path, '-F', base.format, n.files.overlay], `${n.name}'s overlay`);
  }
}
