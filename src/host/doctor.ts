import { statSync } from 'node:fs';
import { release } from 'node:os';
import { run } from './subprocess.js';
import { accelCacheFile, accelFacts, type AccelFacts } from './accel.js';
import { whichBinary } from './which.js';

/** A tool vmlab runs, where it was found, and its version line. */
export interface ToolFact {
  name: string;
  /** What it is needed for. */
  for: string;
  path: string | null;
  version: string | null;
  required: boolean;
}

export interface DoctorReport {
  node: string;
  kernel: string;
  stateRoot: { path: string; mode: string | null; private: boolean | null };
  accel: AccelFacts & { cacheFile: string };
  tools: ToolFact[];
  /** Problems that stop vmlab working, each with the fix. */
  problems: string[];
  /** Things that work but should not be so. */
  warnings: string[];
}

const TOOLS: Array<{ name: string; for: string; versionArgs?: string[]; required: boolean; pkg: string }> = [
  {
    name: 'qemu-system-x86_64',
    for: 'running VMs',
    versionArgs: ['--version'],
    required: true,
    pkg: 'qemu-system-x86',
  },
  {
    name: 'qemu-img',
    for: 'disks, overlays, image inspection',
    versionArgs: ['--version'],
    required: true,
    pkg: 'qemu-utils',
  },
  {
    name: 'ssh',
    for: 'vmlab ssh, readiness of cloud images',
    versionArgs: ['-V'],
    required: true,
    pkg: 'openssh-client',
  },
  { name: 'ssh-keygen', for: 'lab and host keys', required: true, pkg: 'openssh-client' },
  { name: 'genisoimage', for: 'cloud-init seeds', required: false, pkg: 'genisoimage' },
  { name: 'prlimit', for: 'limits on qemu-img for untrusted images', required: false, pkg: 'util-linux' },
  { name: 'syslinux', for: 'building the tiny test guest', required: false, pkg: 'syslinux' },
  { name: 'mcopy', for: 'building the tiny test guest', required: false, pkg: 'mtools' },
  { name: 'debootstrap', for: 'building the cloud test image', required: false, pkg: 'debootstrap' },
];

const firstLine = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l) ?? null;

/** Everything `vmlab doctor` shows: the accelerator verdict with its evidence, tools, the state root. */
export async function doctorReport(opts: {
  qemuBinary: string;
  root: string;
  reprobe: boolean;
  env: NodeJS.ProcessEnv;
}): Promise<DoctorReport> {
  const { env } = opts;
  const problems: string[] = [];
  const warnings: string[] = [];
  const tools = await Promise.all(
    TOOLS.map(async (t): Promise<ToolFact> => {
      const name = t.name === 'qemu-system-x86_64' ? opts.qemuBinary : t.name;
      const path = whichBinary(name, env) ?? null;
      let version: string | null = null;
      if (path && t.versionArgs) {
        const r = await run([path, ...t.versionArgs], { timeoutMs: 5000 });
        version = firstLine(r.stdout) ?? firstLine(r.stderr);
      }
      if (!path && t.required) problems.push(`${t.name} not found (needed for ${t.for}): apt-get install ${t.pkg}`);
      return { name, for: t.for, path, version, required: t.required };
    }),
  );
  let mode: string | null = null;
  let priv: boolean | null = null;
  try {
    const m = statSync(opts.root).mode & 0o777;
    mode = m.toString(8).padStart(4, '0');
    priv = (m & 0o077) === 0;
    if (!priv) warnings.push(`${opts.root} is readable by other users (mode ${mode}): chmod 700 ${opts.root}`);
  } catch {
    /* not created yet: the first deploy creates it private */
  }
  const cacheFile = accelCacheFile(env);
  const accel = await accelFacts({ qemuBinary: opts.qemuBinary, env, cacheFile, fresh: opts.reprobe });
  return {
    node: process.version,
    kernel: release(),
    stateRoot: { path: opts.root, mode, private: priv },
    accel: { ...accel, cacheFile },
    tools,
    problems,
    warnings,
  };
}
