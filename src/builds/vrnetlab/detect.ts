import { FAMILIES, type DeviceFamily, type DiskFormat } from './families.js';

/**
 * What vmlab knows of a network-device disk from its file name alone
 * (`vmlab images detect` without a checkout; stored on a library image as
 * `net_device`). `version`/`tag` are filled in by asking a vrnetlab
 * checkout's Makefile (resolveTag.ts).
 */
export interface NetDevice {
  device: string;
  label: string;
  /** The file name the facts are about (no directory). */
  file: string;
  /** vrnetlab directory; null when vrnetlab cannot build this family. */
  dir: string | null;
  buildable: boolean;
  /** Why it cannot be built (when `buildable` is false). */
  reason?: string;
  install_phase: boolean;
  format: DiskFormat;
  version?: string;
  tag?: string;
  /** The name the copy in the device dir gets, when the Makefile needs another than `file`. */
  build_file?: string;
}

const baseName = (p: string) => p.replace(/^.*[/\\]/, '');

/** The family whose pattern matches the file name first (table order: specific before general). */
export function matchFamily(fileName: string): DeviceFamily | undefined {
  const name = baseName(fileName);
  return FAMILIES.find((f) => f.patterns.some((re) => re.test(name)));
}

/** Extension of a file name, lower case, without the dot ('' if none). */
export const extOf = (name: string) => /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';

/** File-name facts; undefined when the name is no network device vmlab knows. */
export function detectDevice(fileName: string): NetDevice | undefined {
  const file = baseName(fileName);
  const f = matchFamily(file);
  if (!f) return undefined;
  const base = { device: f.id, label: f.label, file, dir: f.dir, install_phase: f.installPhase, format: f.format };
  if (!f.dir) return { ...base, buildable: false, reason: f.reason ?? 'vrnetlab has no directory for it' };
  const ext = extOf(file);
  if (ext !== f.format) {
    return {
      ...base,
      buildable: false,
      reason:
        `vrnetlab's ${f.dir} builds from a .${f.format} file, got .${ext || '(none)'}: ` +
        `convert it (qemu-img convert -O ${f.format === 'tgz' ? 'qcow2' : f.format}) or use the vendor's .${f.format}`,
    };
  }
  return { ...base, buildable: true };
}
