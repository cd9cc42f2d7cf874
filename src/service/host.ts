import { doctorReport, type DoctorReport } from '../host/doctor.js';
import { hostCapacity, type HostCapacity } from '../host/hostCapacity.js';
import type { Settings } from '../host/settings.js';
import { defaultMaxParallel } from '../lab/lifecycle/bootScheduler.js';
import { nodeCostMb, nodesThatFit } from '../lab/lifecycle/capacity.js';
import { DEFAULTS } from '../plan/resolveNode.js';
import { loadSpec } from '../spec/loadSpec.js';

/** Node sizes `doctor` shows when no spec names the platforms: the tiny guest up to a large router image. */
const SIZES_MB = [128, 512, 1024, 2048, 4096, 8192];

/** How many nodes of one size fit in the memory available now. */
export interface Fit {
  /** A platform of the spec given, or "<n> MiB". */
  what: string;
  memory_mb: number;
  /** Guest RAM plus QEMU's own overhead under this host's accelerator. */
  per_node_mb: number;
  nodes: number;
}

export interface Capacity extends HostCapacity {
  /** How many nodes `deploy` boots at once by default on this host. */
  max_parallel: number;
  fits: Fit[];
}

/** This host as vmlab sees it: what `vmlab doctor` (and an API route, later) shows. */
export class HostService {
  constructor(private readonly settings: Settings) {}

  /**
   * The accelerator verdict with its evidence, tools, the state root, and
   * the capacity: cores, memory, load, and how many nodes fit (of each
   * platform of `specDir` when given); `reprobe` ignores the cached verdict.
   */
  async doctor(reprobe: boolean, specDir?: string): Promise<DoctorReport & { capacity: Capacity }> {
    const sizes = specDir
      ? Object.entries(loadSpec(specDir).platforms).map(([name, p]) => ({
          what: name,
          memory_mb: p.vm_memory ?? DEFAULTS.memoryMb,
        }))
      : SIZES_MB.map((mb) => ({ what: `${mb} MiB`, memory_mb: mb }));
    const report = await doctorReport({
      qemuBinary: this.settings.qemuBinary,
      root: this.settings.root,
      reprobe,
      env: this.settings.childEnv,
    });
    const host = hostCapacity();
    const accel = report.accel.accel;
    const fits = sizes.map((s) => ({
      ...s,
      per_node_mb: nodeCostMb(s.memory_mb, accel),
      nodes: nodesThatFit(s.memory_mb, accel, host.mem_available_mb),
    }));
    return { ...report, capacity: { ...host, max_parallel: defaultMaxParallel(accel, host.cores), fits } };
  }
}
