import type { Reporter } from '../../host/reporter.js';
import type { LabPlan, NodePlan } from '../../plan/labPlan.js';
import type { LabState } from '../state/labState.js';

/**
 * Where a deploy's guests start from: booted cold, resumed from an
 * exported snapshot (a warm start), or some nodes from library
 * checkpoints. Chosen once (startSource.ts); the deploy asks it at each
 * step where the three differ.
 */
export interface StartSource {
  /** What the "Deploying lab" line adds ('' for a cold start). */
  readonly from: string;
  /** How the disks got there, for the verbose line after `place`. */
  readonly placed: 'created' | 'in place';
  /** Refuse, before anything is written, what cannot start here. */
  check(plan: LabPlan): Promise<void>;
  /** Keys, disks and seeds where the plan expects them. */
  place(d: Deployment): Promise<void>;
  /** Arguments added to a node's QEMU command line (-loadvm of saved state). */
  qemuArgs(n: NodePlan): string[];
  /** A node's guest answered: what it needs before it can be usable (a checkpoint node: its own identity). */
  answered(state: LabState, n: NodePlan, env: NodeJS.ProcessEnv): Promise<void>;
  /** Fresh disks for a restart under TCG; absent where the guests load state saved under KVM, which TCG cannot. */
  restartDisks?(plan: LabPlan): Promise<void>;
  /** Every node is ready: what is left to do before the lab runs. */
  finish(d: Deployment): Promise<void>;
  /** Remove what the source unpacked. */
  close(): void;
}

/** One deploy under way: what its steps read and record. */
export interface Deployment {
  /** `state.plan`: switched to TCG when KVM crashed a guest. */
  readonly plan: LabPlan;
  readonly state: LabState;
  readonly reporter: Reporter;
  /** The environment SSH runs with (VMLAB_SSH names the client): Settings.childEnv. */
  readonly env: NodeJS.ProcessEnv;
  readonly source: StartSource;
  /** When the deploy began: boot times count from here. */
  readonly t0: number;
  /** When each node's QEMU was started. */
  readonly startedAt: Map<string, number>;
  readonly signal?: AbortSignal;
  /** At most this many nodes boot at once (absent: the default for the accelerator). */
  readonly maxParallel?: number;
}
