import { ImageError } from './imageError.js';

/**
 * Parsers for published checksum files (pure functions, no I/O):
 *  - GNU coreutils lines `<hex> <space or *><file>` (SHA256SUMS, SHA512SUMS, `foo.img.sha256`);
 *  - BSD tagged lines `SHA256 (<file>) = <hex>` (Fedora CHECKSUM), also inside a PGP
 *    clear-signed block, whose armor, headers and signature are ignored;
 *  - a bare digest file: just the hex.
 */

export type ChecksumAlgo = 'sha256' | 'sha512';

export interface ChecksumEntry {
  /** The file name as written in the checksum file; null for a bare digest. */
  file: string | null;
  algo: ChecksumAlgo;
  /** Lowercase hex. */
  hex: string;
}

export interface Checksum {
  algo: ChecksumAlgo;
  hex: string;
}

const HEX = /^[0-9a-fA-F]+$/;
const GNU = /^(\\?)([0-9a-fA-F]+)[ \t]+\*?(.+)$/;
const BSD = /^(SHA-?256|SHA-?512)\s*\((.*)\)\s*=\s*([0-9a-fA-F]+)$/i;

/** The algorithm a digest of this many hex digits belongs to. */
export function algoForLength(hexLength: number): ChecksumAlgo | undefined {
  return hexLength === 64 ? 'sha256' : hexLength === 128 ? 'sha512' : undefined;
}

/** The lines that carry content: PGP armor, armor headers and the signature block dropped. */
function contentLines(text: string): string[] {
  const out: string[] = [];
  let state: 'text' | 'armor-headers' | 'signature' = 'text';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    if (state === 'signature') {
      if (trimmed.startsWith('-----END PGP ')) state = 'text';
      continue;
    }
    if (state === 'armor-headers') {
      if (trimmed === '') state = 'text';
      continue;
    }
    if (trimmed === '-----BEGIN PGP SIGNED MESSAGE-----') {
      state = 'armor-headers';
      continue;
    }
    if (trimmed.startsWith('-----BEGIN PGP ')) {
      state = 'signature';
      continue;
    }
    // Clear-signed text dash-escapes lines that start with '-'.
    out.push(line.startsWith('- ') ? line.slice(2) : line);
  }
  return out;
}

/** GNU escapes names holding a backslash or newline and marks the line with a leading `\`. */
function unescapeGnu(name: string): string {
  return name.replace(/\\(\\|n|r)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** Every digest in a checksum file, in order. Lines that are none of the formats are skipped. */
export function parseChecksums(text: string): ChecksumEntry[] {
  const entries: ChecksumEntry[] = [];
  for (const line of contentLines(text)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;

    const bsd = BSD.exec(trimmed);
    if (bsd) {
      const algo: ChecksumAlgo = bsd[1]!.replace('-', '').toLowerCase() === 'sha256' ? 'sha256' : 'sha512';
      const hex = bsd[3]!.toLowerCase();
      if (algoForLength(hex.length) === algo) entries.push({ file: bsd[2]!, algo, hex });
      continue;
    }

    if (HEX.test(trimmed)) {
      const algo = algoForLength(trimmed.length);
      if (algo) entries.push({ file: null, algo, hex: trimmed.toLowerCase() });
      continue;
    }

    // GNU: no trim at the end, a file name may end in spaces; only the CR is dropped above.
    const gnu = GNU.exec(line.replace(/^\s+/, ''));
    if (gnu) {
      const algo = algoForLength(gnu[2]!.length);
      if (!algo) continue;
      const file = gnu[1] ? unescapeGnu(gnu[3]!) : gnu[3]!;
      entries.push({ file, algo, hex: gnu[2]!.toLowerCase() });
    }
  }
  return entries;
}

/** The last path segment of a file name, path or URL (query and fragment dropped). */
function baseName(name: string): string {
  let n = name;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(n)) {
    try {
      n = decodeURIComponent(new URL(n).pathname);
    } catch {
      /* not a URL after all */
    }
  }
  const parts = n.split(/[\\/]/);
  return parts[parts.length - 1] ?? n;
}

/**
 * The entry for `fileName` (a name, path or URL; matched on the base name), or undefined.
 * An exact name match wins over a base-name match; a bare digest matches any name.
 * When a file is listed under several algorithms the first listed wins.
 */
export function findChecksum(text: string, fileName: string): ChecksumEntry | undefined {
  const entries = parseChecksums(text);
  const wanted = baseName(fileName);
  return (
    entries.find((e) => e.file !== null && e.file === fileName) ??
    entries.find((e) => e.file !== null && baseName(e.file) === wanted) ??
    entries.find((e) => e.file === null)
  );
}

/** `sha256:<hex>` or `sha512:<hex>` as given on a command line or in a spec. */
export function parseChecksumArg(arg: string): Checksum {
  const m = /^\s*([A-Za-z0-9-]+):\s*(\S*)\s*$/.exec(arg);
  const hint = 'write it as sha256:<64 hex digits> or sha512:<128 hex digits>';
  if (!m) throw new ImageError('bad_input', `Checksum ${JSON.stringify(arg)} has no algorithm prefix.`, { hint });
  const tag = m[1]!.toLowerCase().replace('-', '');
  if (tag !== 'sha256' && tag !== 'sha512') {
    throw new ImageError(
      'bad_input',
      `Checksum algorithm ${JSON.stringify(m[1])} is not supported (sha256 or sha512).`,
      { hint },
    );
  }
  const hex = m[2]!;
  if (!HEX.test(hex)) {
    throw new ImageError('bad_input', `Checksum ${JSON.stringify(arg)}: the digest is not hexadecimal.`, { hint });
  }
  const want = tag === 'sha256' ? 64 : 128;
  if (hex.length !== want) {
    throw new ImageError(
      'bad_input',
      `Checksum ${JSON.stringify(arg)}: a ${tag} digest has ${want} hex digits, not ${hex.length}.`,
      { hint },
    );
  }
  return { algo: tag, hex: hex.toLowerCase() };
}
