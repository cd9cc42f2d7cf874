import { open, type FileHandle } from 'node:fs/promises';

/*
 * The members of a tar file, read from its headers alone (no data is read,
 * nothing is written): what an archive from someone else holds is judged
 * before any of it reaches the disk. Reads the ustar, GNU (long names,
 * base-256 sizes) and pax forms GNU tar writes; anything else is reported
 * as a member kind the caller refuses, never guessed at.
 */

export type MemberKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'sparse' | 'device' | 'fifo' | 'other';

export interface TarMember {
  name: string;
  kind: MemberKind;
  /** Bytes stored in the archive (for a sparse member: its real size as extracted). */
  size: number;
  /** Where the member's data starts in the tar file. */
  offset: number;
  /** A link's target, for messages. */
  target?: string;
}

export class TarFormatError extends Error {}

const BLOCK = 512;
/** Long names and pax records are small; more is not an archive vmlab wrote. */
const MAX_META_BYTES = 1 << 20;
const MAX_MEMBERS = 10_000;

const text = (b: Buffer, start: number, len: number) => {
  const s = b.subarray(start, start + len);
  const nul = s.indexOf(0);
  return (nul >= 0 ? s.subarray(0, nul) : s).toString('utf8');
};

/** A numeric header field: octal text, or GNU base-256 (high bit set) for values past 8 GiB. */
export function headerNumber(b: Buffer, start: number, len: number): number {
  const f = b.subarray(start, start + len);
  if (f[0]! & 0x80) {
    if (f[0] === 0xff) throw new TarFormatError('a negative size field');
    let n = f[0]! & 0x7f;
    for (const byte of f.subarray(1)) n = n * 256 + byte;
    if (!Number.isSafeInteger(n)) throw new TarFormatError('a size field past 2^53');
    return n;
  }
  const s = text(f, 0, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`a numeric field reads ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  try {
    return headerNumber(h, 148, 8) === sum;
  } catch {
    return false;
  }
}

/** pax records: "<len> <key>=<value>\n" each. */
export function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space > at ? Number(data.subarray(at, space).toString('latin1')) : NaN;
    if (!Number.isInteger(len) || len <= 0 || at + len > data.length) {
      throw new TarFormatError('a malformed pax header');
    }
    const rec = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new TarFormatError('a malformed pax record');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    at += len;
  }
  return out;
}

const KINDS: Record<string, MemberKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '5': 'dir',
  '1': 'hardlink',
  '2': 'symlink',
  S: 'sparse',
  '3': 'device',
  '4': 'device',
  '6': 'fifo',
};

async function readAt(fd: FileHandle, position: number, length: number, fileBytes: number): Promise<Buffer> {
  if (position + length > fileBytes) throw new TarFormatError('it ends in the middle of a member (truncated?)');
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fd.read(buf, 0, length, position);
  if (bytesRead !== length) throw new TarFormatError('it ends in the middle of a member (truncated?)');
  return buf;
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** What the headers before a member said of it: GNU long names, pax records. */
interface Pending {
  longName?: string;
  longLink?: string;
  pax: Map<string, string>;
}

/** A member from its header and what came before it; `stored`: the bytes its data takes in the file. */
function memberOf(h: Buffer, data: number, before: Pending): TarMember & { stored: number } {
  const type = String.fromCharCode(h[156]!);
  const { pax } = before;
  const ustar = text(h, 257, 6) === 'ustar' && text(h, 263, 2) === '00';
  const prefix = ustar ? text(h, 345, 155) : '';
  const plain = prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100);
  const name = pax.get('GNU.sparse.name') ?? pax.get('path') ?? before.longName ?? plain;
  let kind = KINDS[type] ?? 'other';
  if ([...pax.keys()].some((k) => k.startsWith('GNU.sparse'))) kind = 'sparse';
  const paxSize = pax.get('size');
  const stored = paxSize !== undefined ? Number(paxSize) : headerNumber(h, 124, 12);
  if (!Number.isSafeInteger(stored) || stored < 0) {
    throw new TarFormatError(`member ${name} has size ${JSON.stringify(paxSize)}`);
  }
  // A sparse member: the stored bytes are its data and map, the real size what it unpacks to.
  const paxReal = pax.get('GNU.sparse.realsize') ?? pax.get('GNU.sparse.size');
  const size = type === 'S' ? headerNumber(h, 483, 12) : paxReal !== undefined ? Number(paxReal) || 0 : stored;
  const link = kind === 'symlink' || kind === 'hardlink';
  const target = pax.get('linkpath') ?? before.longLink ?? text(h, 157, 100);
  return { name, kind, size, offset: data, stored, ...(link ? { target } : {}) };
}

/** pax global headers only say who made the archive; one that renames or resizes members is refused. */
function checkGlobal(meta: Buffer): void {
  const keys = [...paxRecords(meta).keys()];
  if (keys.some((k) => k === 'path' || k === 'size' || k.startsWith('GNU.sparse'))) {
    throw new TarFormatError('a global pax header that renames or resizes members');
  }
}

/** Every member of a tar file, in order, from its headers. Throws TarFormatError for what is not a tar. */
export async function tarMembers(file: string): Promise<TarMember[]> {
  const fd = await open(file, 'r');
  try {
    const fileBytes = (await fd.stat()).size;
    const out: TarMember[] = [];
    let at = 0;
    let before: Pending = { pax: new Map() };
    for (;;) {
      if (at + BLOCK > fileBytes) {
        if (at === fileBytes && at > 0) break; // no end blocks: tolerated, as GNU tar does
        throw new TarFormatError('it ends in the middle of a header (truncated?)');
      }
      const h = await readAt(fd, at, BLOCK, fileBytes);
      if (h.every((b) => b === 0)) break;
      if (!checksumOk(h)) throw new TarFormatError(`the header at byte ${at} has a bad checksum (damaged?)`);
      const type = String.fromCharCode(h[156]!);
      let data = at + BLOCK;
      // An old GNU sparse member's map may go on in extension blocks before its data.
      if (type === 'S' && h[482]) {
        for (let more = true; more; data += BLOCK) more = Boolean((await readAt(fd, data, BLOCK, fileBytes))[504]);
      }
      if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
        const size = headerNumber(h, 124, 12);
        if (size > MAX_META_BYTES) throw new TarFormatError(`a ${size}-byte name or pax header`);
        const meta = await readAt(fd, data, size, fileBytes);
        if (type === 'L') before.longName = text(meta, 0, size);
        else if (type === 'K') before.longLink = text(meta, 0, size);
        else if (type === 'x') before.pax = paxRecords(meta);
        else checkGlobal(meta);
        at = data + padded(size);
        continue;
      }
      const { stored, ...m } = memberOf(h, data, before);
      if (data + stored > fileBytes) throw new TarFormatError(`member ${m.name} ends past the end of the file`);
      out.push(m);
      if (out.length > MAX_MEMBERS) throw new TarFormatError(`more than ${MAX_MEMBERS} members`);
      at = data + padded(stored);
      before = { pax: new Map() };
    }
    return out;
  } finally {
    await fd.close();
  }
}
