import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
/** The accelerator a VM runs under (plan/labPlan uses the same union). */
export type Accel = 'kvm' | 'tcg';
import { writeFileAtomic } from './atomicWrite.js';
import { PROBE_EXIT_CODE, probeBootSector } from './probeSector.js';
import { run } from './subprocess.js';
import { whichBinary } from './which.js';
import { accelFrom, cacheHomeFrom, kvmDeviceFrom } from './settings.js';

/**
 * Which accelerator this host really gives, and why. KVM fails here in
 * three ways (see FIELD-NOTES): no usable /dev/kvm, QEMU aborting at vCPU
 * reset, and a KVM that runs firmware but kills the guest's bootloader
 * (kvm_pvm). The probe runs real guest code; the verdict is cached per
 * host (kernel, QEMU binary, KVM modules) and a guest crash seen later
 * under KVM overrides it.
 */
export type AccelVerdict = 'kvm-works' | 'no-kvm' | 'kvm-broken-at-reset' | 'kvm-broken-at-run' | 'forced';

export interface HostKey {
  kernel: string;
  /** The QEMU binary: path, size and mtime (changes on upgrade). */
  qemu: string;
  kvmModules: string[];
}

export interface AccelFacts {
  accel: Accel;
  verdict: AccelVerdict;
  /** One line for the deploy banner. */
  reason: string;
  /** What the verdict rests on, for `vmlab doctor`. */
  evidence: string[];
  source: 'env' | 'device' | 'probe' | 'cache' | 'guest-crash';
  probeMs?: number;
  at: string;
  key: HostKey;
}

export interface AccelOptions {
  qemuBinary: string;
  /** The environment as Settings gave it (VMLAB_ACCEL, VMLAB_KVM_DEVICE, XDG_CACHE_HOME, PATH). */
  env: NodeJS.ProcessEnv;
  /** Default $VMLAB_KVM_DEVICE, else /dev/kvm. */
  kvmDevice?: string;
  cacheFile?: string;
  probeTimeoutMs?: number;
  /** Probe again even if a verdict is cached (`vmlab doctor --reprobe`). */
  fresh?: boolean;
}

export function accelCacheFile(env: NodeJS.ProcessEnv): string {
  return join(cacheHomeFrom(env), 'vmlab', 'accel.json');
}

export function kvmModules(sysModule = '/sys/module'): string[] {
  try {
    return readdirSync(sysModule)
      .filter((m) => /^kvm/.test(m))
      .sort();
  } catch {
    return [];
  }
}

export function hostKey(qemuBinary: string, env: NodeJS.ProcessEnv): HostKey {
  const path = whichBinary(qemuBinary, env);
  let qemu = `${qemuBinary}:missing`;
  if (path) {
    const st = statSync(path);
    qemu = `${path}:${st.size}:${Math.trunc(st.mtimeMs)}`;
  }
  return { kernel: release(), qemu, kvmModules: kvmModules() };
}

const sameKey = (a: HostKey, b: HostKey) =>
  a.kernel === b.kernel && a.qemu === b.qemu && a.kvmModules.join() === b.kvmModules.join();

const now = () => new Date().toISOString();

function moduleEvidence(mods: string[]): string {
  if (mods.length === 0) return 'no kvm kernel module loaded';
  const note =
    mods.includes('kvm_pvm') && !mods.includes('kvm_intel') && !mods.includes('kvm_amd')
      ? ' (kvm_pvm: a paging-based nested KVM)'
      : '';
  return `kernel modules: ${mods.join(', ')}${note}`;
}

export interface ProbeOutcome {
  verdict: 'kvm-works' | 'kvm-broken-at-reset' | 'kvm-broken-at-run';
  evidence: string;
  ms: number;
  /** False when QEMU failed for a reason that does not name KVM: do not remember it. */
  conclusive: boolean;
}

/**
 * Boot the probe sector under KVM (SeaBIOS → protected mode → interrupt →
 * IRET → isa-debug-exit). Exit code 99 means the guest ran to the end.
 * QEMU dying first is a failure at vCPU reset; "KVM internal error" (the
 * VM then sits in internal-error) or no exit is a failure at run time.
 */
export function probeKvm(qemuBinary: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<ProbeOutcome> {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'vmlab-probe-'));
  const img = join(dir, 'probe.img');
  // SeaBIOS will not read a disk smaller than a track; a sparse 1 MiB file.
  writeFileSync(img, probeBootSector());
  truncateSync(img, 1 << 20);
  const argv = [
    '-accel',
    'kvm',
    '-machine',
    'q35',
    '-cpu',
    'host',
    '-m',
    '16',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-boot',
    'menu=off',
    '-device',
    'isa-debug-exit,iobase=0xf4,iosize=4',
    '-drive',
    `file=${img},format=raw,if=ide`,
  ];
  return new Promise((resolve) => {
    // Under coreutils `timeout`: if vmlab is killed (-9) mid-probe, the probe VM still ends by itself
    // instead of staying behind in internal-error. It forwards our SIGTERM and QEMU's exit or signal.
    const limit = String(Math.ceil(timeoutMs / 1000) + 5);
    const stop = new AbortController();
    let stderr = '';
    let settled = false;
    // A verdict may come before QEMU exits (a crash seen on stderr, our timer): answer then, SIGTERM it.
    const finish = (o: Omit<ProbeOutcome, 'ms' | 'conclusive'>, conclusive = true) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop.abort();
      rmSync(dir, { recursive: true, force: true });
      resolve({ ...o, ms: Date.now() - t0, conclusive });
    };
    const timer = setTimeout(
      () =>
        finish({
          verdict: 'kvm-broken-at-run',
          evidence:
            `the probe guest did not finish within ${timeoutMs / 1000} s under KVM ` +
            '(it takes well under a second where KVM works)',
        }),
      timeoutMs,
    );
    const onChunk = (text: string, stream: 'stdout' | 'stderr') => {
      if (stream !== 'stderr') return;
      stderr += text;
      const m = /KVM internal error\.[^\n]*/.exec(stderr);
      if (m) finish({ verdict: 'kvm-broken-at-run', evidence: `the probe guest crashed under KVM: "${m[0].trim()}"` });
    };
    const probe = ['timeout', '--kill-after=2', limit, qemuBinary, ...argv];
    void run(probe, { env, signal: stop.signal, kill: { signal: 'SIGTERM' }, keepChars: 0, onChunk }).then((r) => {
      if (r.spawnError)
        return finish(
          { verdict: 'kvm-broken-at-reset', evidence: `cannot run ${qemuBinary}: ${r.spawnError.message}` },
          false,
        );
      const { exitCode: code, signal } = r;
      if (code === PROBE_EXIT_CODE)
        return finish({
          verdict: 'kvm-works',
          evidence: 'the probe guest ran protected-mode code and an interrupt under KVM and exited cleanly',
        });
      const first =
        stderr
          .split('\n')
          .map((l) => l.trim())
          .find((l) => l) ?? '';
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      finish(
        {
          verdict: 'kvm-broken-at-reset',
          evidence: `QEMU stopped before the probe guest ran (${how})${first ? `: "${first.slice(0, 200)}"` : ''}`,
        },
        Boolean(signal) || /kvm|msr|vcpu/i.test(stderr),
      );
    });
  });
}

function readCache(file: string): AccelFacts | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as AccelFacts;
    return c && typeof c.accel === 'string' && c.key ? c : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(file: string, facts: AccelFacts): void {
  try {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, JSON.stringify(facts, null, 2) + '\n', 0o600);
  } catch {
    /* a cache we cannot write only costs a probe next time */
  }
}

const REASONS: Record<Exclude<AccelVerdict, 'forced'>, string> = {
  'kvm-works': 'KVM works',
  'no-kvm': '/dev/kvm is not available',
  'kvm-broken-at-reset': '/dev/kvm exists but QEMU fails to start a vCPU with it',
  'kvm-broken-at-run': '/dev/kvm exists but guests crash under it',
};

/** The accelerator to use: VMLAB_ACCEL, else the cached verdict for this host, else a probe (then cached). */
export async function accelFacts(opts: AccelOptions): Promise<AccelFacts> {
  const { env } = opts;
  const device = opts.kvmDevice ?? kvmDeviceFrom(env);
  const key = hostKey(opts.qemuBinary, env);
  const base = { at: now(), key };
  const forced = accelFrom(env);
  if (forced) {
    return {
      ...base,
      accel: forced,
      verdict: 'forced',
      reason: `VMLAB_ACCEL=${forced}`,
      evidence: [`VMLAB_ACCEL=${forced} is set`, moduleEvidence(key.kvmModules)],
      source: 'env',
    };
  }
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${device} does not exist`
        : `${device} is not readable and writable by this user`;
    return {
      ...base,
      accel: 'tcg',
      verdict: 'no-kvm',
      reason: REASONS['no-kvm'],
      evidence: [why, moduleEvidence(key.kvmModules)],
      source: 'device',
    };
  }
  const file = opts.cacheFile ?? accelCacheFile(env);
  const cached = readCache(file);
  if (cached && sameKey(cached.key, key) && !opts.fresh) return { ...cached, source: 'cache' };
  const outcome = await probeKvm(opts.qemuBinary, opts.probeTimeoutMs ?? 20_000, env);
  const facts: AccelFacts = {
    ...base,
    accel: outcome.verdict === 'kvm-works' ? 'kvm' : 'tcg',
    verdict: outcome.verdict,
    reason: REASONS[outcome.verdict],
    evidence: [outcome.evidence, moduleEvidence(key.kvmModules)],
    source: 'probe',
    probeMs: outcome.ms,
  };
  if (outcome.conclusive) writeCache(file, facts);
  return facts;
}

/**
 * A guest died with internal-error early in a KVM boot: that is the final
 * word on this host's KVM, whatever the probe said. Later deploys use TCG.
 */
export function recordKvmCrash(opts: AccelOptions, evidence: string): AccelFacts {
  const { env } = opts;
  const key = hostKey(opts.qemuBinary, env);
  const facts: AccelFacts = {
    accel: 'tcg',
    verdict: 'kvm-broken-at-run',
    reason: REASONS['kvm-broken-at-run'],
    evidence: [evidence, moduleEvidence(key.kvmModules)],
    source: 'guest-crash',
    at: now(),
    key,
  };
  if (accelFrom(env) !== 'kvm') writeCache(opts.cacheFile ?? accelCacheFile(env), facts);
  return facts;
}
