import { ansibleInventory, topologyDataText, type InventoryFormat } from '../plan/inventory.js';
import { graphOfPlan, renderGraph, type GraphFormat } from '../plan/graph.js';
import { graphOfSpecDir } from '../lab/state/labOutputs.js';
import { sshConfigText } from '../lab/node/sshFiles.js';
import { labDir } from '../plan/labFiles.js';
import { deployLab, planDeploy, type PlannedLab } from '../lab/lifecycle/deploy.js';
import { destroyLab, type DestroyResult } from '../lab/lifecycle/destroy.js';
import { LabError } from '../lab/labError.js';
import { loadLab, selectLab, type LabRef } from '../lab/state/labSelect.js';
import { listLabs } from '../lab/state/labState.js';
import { labReport, type LabReport } from '../lab/state/labStatus.js';
import { discoverLabs } from '../lab/state/labScan.js';
import { startNode, stopNode } from '../lab/node/nodeControl.js';
import type { LabState } from '../lab/state/labState.js';
import type { Reporter } from '../host/reporter.js';
import type { Settings } from '../host/settings.js';
import type { StoreHandle } from '../store/database.js';
import { imageFactsResolver } from './imageFacts.js';
import type { JobService } from './jobs.js';
import type { JobRecord } from '../jobs/jobStore.js';
import type { JobContext } from '../jobs/runJob.js';
import { writeFileAtomic } from '../host/atomicWrite.js';
import { isValidName, NAME_RULE } from '../spec/names.js';
import { labFiles } from '../plan/labFiles.js';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpec, type Spec } from '../spec/loadSpec.js';
import { syncHostImages } from './hostImages.js';
import type { HostEntry } from '../spec/hosts.js';
import { remoteOptions, runOnAllHosts, type LineSinks } from '../lab/lifecycle/allHosts.js';
import { checkBeforeDeploy } from '../lab/lifecycle/deployChecks.js';

export interface InlineSpec {
  name: string;
  topology: unknown;
  platforms?: unknown;
  profiles?: Record<string, unknown>;
}

/**
 * `snapshot`: start warm from an exported snapshot (a file on the server, or a name in the store);
 * `max_parallel`: how many nodes boot at once; `force`: deploy even if the host lacks the memory.
 */
export type DeployInput = ({ spec_dir: string } | InlineSpec) & {
  snapshot?: string;
  max_parallel?: number;
  force?: boolean;
};

/** How a deploy runs: warm from a snapshot, boots at once, past the memory check. */
export interface DeployOptions {
  snapshot?: string;
  maxParallel?: number;
  force?: boolean;
}

/** A job's log as the lab engine's reporter. */
const jobReporter = (ctx: Pick<JobContext, 'log'>): Reporter => ({
  info: (m) => ctx.log(m),
  warn: (m) => ctx.log(`warning: ${m}`),
  verbose: (m) => ctx.log(m),
});

/** What every lab operation needs: who reports, and how to stop it. */
export interface OpContext {
  reporter: Reporter;
  signal?: AbortSignal;
}

/**
 * Labs: everything either front door does with them. Each call is
 * complete on its own (it reads state from disk), so the CLI and a
 * long-running server share no in-memory state.
 */
export class LabService {
  readonly root: string;
  /** What lab/ reads itself (VMLAB_HOME, VMLAB_SSH…): the environment as given, until lab/ takes Settings. */
  private readonly env: Readonly<NodeJS.ProcessEnv>;

  constructor(
    settings: Settings,
    /** Deploys asked for by a server run as jobs. */
    private readonly jobs: JobService,
    private readonly store: StoreHandle,
  ) {
    this.root = settings.root;
    this.env = settings.childEnv;
  }

  /** A lab named, taken from a spec dir, or the only one deployed. */
  select(opts: { lab?: string; specDir?: string }): LabRef {
    return selectLab(opts, this.env);
  }

  /** Like select, but nothing deployed is not an error. */
  selectIfAny(opts: { lab?: string; specDir?: string }): LabRef | undefined {
    return selectLab({ ...opts, optional: true }, this.env);
  }

  ref(name: string): LabRef {
    return this.select({ lab: name });
  }

  /** Every lab, as its processes say it is. */
  list(): Promise<LabReport[]> {
    return Promise.all(discoverLabs(this.root).map((name) => labReport({ name, dir: labDir(this.root, name) })));
  }

  async get(ref: LabRef): Promise<LabReport> {
    const r = await labReport(ref);
    if (r.status === 'state-lost' && r.nodes.length === 0)
      throw new LabError('lab_not_found', `lab "${ref.name}" is not deployed`, {
        hint: 'see deployed labs with: vmlab status',
      });
    return r;
  }

  state(ref: LabRef): LabState {
    return loadLab(ref);
  }

  /**
   * Load, resolve, probe and plan: starts nothing (what --dry-run prints). Multi-host: `host` is this machine's entry.
   */
  plan(specDir: string, opts: { host?: string } = {}): Promise<PlannedLab> {
    return planDeploy(specDir, imageFactsResolver(this.store), this.env, opts);
  }

  /**
   * Multi-host from one machine (newtlab's way): run `vmlab deploy --host`
   * on every host over SSH at once, each host's output prefixed with its
   * name. If any host fails (or this is interrupted), every host is rolled
   * back with `vmlab destroy --host`. The spec dir must be at the same path
   * on every host (a shared checkout). Library images a host lacks are
   * copied there first (service/hostImages).
   */
  async deployAllHosts(specDir: string, sinks: LineSinks, signal?: AbortSignal): Promise<void> {
    const { dir, hosts, spec } = this.hostsOf(specDir);
    const opts = remoteOptions(this.env);
    await syncHostImages(spec, this.store, opts, sinks);
    const codes = await runOnAllHosts(hosts, (h) => ['deploy', '-S', dir, '--host', h], opts, sinks, signal);
    const failed = Object.entries(codes).filter(([, c]) => c !== 0);
    if (!failed.length && !signal?.aborted) return;
    // A host whose vmlab failed (exit 1 or 2) has rolled itself back, or refused before starting anything (its lab
    // may be one already running there): it is left alone. Hosts that deployed, or whose outcome is unknown
    // (ssh failed or was cut: 255), are destroyed.
    const undo = Object.fromEntries(Object.entries(hosts).filter(([h]) => codes[h] === 0 || codes[h] === 255));
    const names = Object.keys(undo);
    sinks.stderr(
      `rolling back ${names.length ? `host(s) ${names.join(', ')}` : 'nothing'} ` +
        `(${failed.length ? `failed: ${failed.map(([h]) => h).join(', ')}` : 'interrupted'})`,
    );
    if (names.length) await runOnAllHosts(undo, (h) => ['destroy', '-S', dir, '--host', h], opts, sinks);
    throw new LabError(
      'host_failed',
      `deploy failed on ${failed.map(([h, c]) => `host ${h} (exit ${c})`).join(', ') || 'no host: interrupted'}; ` +
        'every host is as it was before',
      {
        hint:
          'its output above is prefixed with its name; ' +
          'exit 255 means ssh itself failed (VMLAB_SSH_CONFIG, keys, VMLAB_REMOTE_BIN)',
      },
    );
  }

  /** `vmlab status|destroy -S DIR --host H` on every host over SSH; fails if any host did. */
  async onAllHosts(specDir: string, command: 'status' | 'destroy', sinks: LineSinks): Promise<void> {
    const { dir, hosts } = this.hostsOf(specDir);
    const codes = await runOnAllHosts(hosts, (h) => [command, '-S', dir, '--host', h], remoteOptions(this.env), sinks);
    const failed = Object.entries(codes).filter(([, c]) => c !== 0);
    if (failed.length)
      throw new LabError(
        'host_failed',
        `${command} failed on ${failed.map(([h, c]) => `host ${h} (exit ${c})`).join(', ')}`,
        { hint: 'its output above is prefixed with its name' },
      );
  }

  private hostsOf(specDir: string): { dir: string; hosts: Record<string, HostEntry>; spec: Spec } {
    const spec = loadSpec(specDir);
    if (!Object.keys(spec.hosts).length) {
      throw new LabError(
        'no_hosts',
        `--all-hosts: lab "${spec.name}" has no hosts (topology.json ${spec.settingsKey}.hosts is not set)`,
        { hint: `leave out --all-hosts, or add "${spec.settingsKey}": {"hosts": {"<name>": "<address>"}}` },
      );
    }
    return { dir: spec.dir, hosts: spec.hosts, spec };
  }

  /**
   * Multi-host: refuse to act on a lab this machine deployed for another host than `host` (none deployed: nothing to
   * check).
   */
  assertHost(ref: LabRef, host: string | undefined): void {
    if (host === undefined || !existsSync(labFiles(ref.dir).state)) return;
    const mine = loadLab(ref).plan.host;
    if (mine !== host) {
      throw new LabError(
        'wrong_host',
        mine
          ? `lab "${ref.name}" here runs host ${mine}'s nodes, not host ${host}'s`
          : `lab "${ref.name}" here is a single-host lab: it has no host "${host}"`,
        { hint: mine ? `run this on host ${host} (or leave out --host)` : 'leave out --host' },
      );
    }
  }

  /**
   * Deploy a plan; an aborted signal rolls everything back and rejects with
   * code "cancelled". With `snapshot` (an exported file, or the name of one
   * exported into the store for this lab) the nodes start warm from it; a
   * snapshot that does not fit is refused before anything starts, and so
   * is a lab that needs more memory than the host has available (unless `force`).
   */
  deploy(planned: PlannedLab, op: OpContext, opts: DeployOptions = {}): Promise<LabState> {
    const archive = checkBeforeDeploy(planned.plan, this.root, opts);
    return this.deployChecked(planned, archive, op, opts.maxParallel);
  }

  /** Deploy what checkBeforeDeploy let through (`archive`: the snapshot file it found). */
  private deployChecked(
    planned: PlannedLab,
    archive: string | undefined,
    op: OpContext,
    maxParallel?: number,
  ): Promise<LabState> {
    return deployLab(planned, op.reporter, {
      env: this.env,
      ...(op.signal ? { signal: op.signal } : {}),
      ...(maxParallel ? { maxParallel } : {}),
      ...(archive ? { archive: { file: archive, root: this.root, images: imageFactsResolver(this.store) } } : {}),
    });
  }

  destroy(ref: LabRef, opts: { force: boolean }, op: OpContext): Promise<DestroyResult> {
    return destroyLab(ref, opts, op.reporter);
  }

  stopNode(ref: LabRef, node: string, opts: { timeoutMs: number; force: boolean }, op: OpContext) {
    return stopNode(ref, node, opts, op.reporter);
  }

  startNode(ref: LabRef, node: string, op: OpContext) {
    return startNode(ref, node, op.reporter, this.env);
  }

  /**
   * Plan (bad specs throw SpecError before anything starts), then deploy
   * as a background job. An inline spec is written to a spec dir of its own
   * under the state root (specs/<name>/), so the CLI sees the same lab.
   */
  async startDeploy(input: DeployInput): Promise<{ job: JobRecord; lab: string }> {
    const specDir = 'spec_dir' in input ? input.spec_dir : this.writeInlineSpec(input);
    const planned = await this.plan(specDir);
    const lab = planned.plan.name;
    const warm = input.snapshot ? { snapshot: input.snapshot } : {};
    // A lab that does not fit, or a snapshot file that is not there, is refused now, not in the job.
    const archive = checkBeforeDeploy(planned.plan, this.root, { ...warm, force: Boolean(input.force) });
    const op = (ctx: JobContext): OpContext => ({ reporter: jobReporter(ctx), signal: ctx.signal });
    const run = (ctx: JobContext) => this.deployChecked(planned, archive, op(ctx), input.max_parallel);
    const { job } = this.jobs.run('deploy', lab, { spec_dir: specDir, ...warm }, run);
    return { job, lab };
  }

  private writeInlineSpec(spec: InlineSpec): string {
    if (!isValidName(spec.name))
      throw new LabError('invalid_name', `"${spec.name}" is not a valid lab name`, { hint: `use ${NAME_RULE}` });
    const dir = join(this.root, 'specs', spec.name);
    mkdirSync(join(dir, 'profiles'), { recursive: true, mode: 0o700 });
    const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
    writeFileAtomic(join(dir, 'topology.json'), json(spec.topology), 0o600);
    if (spec.platforms !== undefined) writeFileAtomic(join(dir, 'platforms.json'), json(spec.platforms), 0o600);
    for (const [node, profile] of Object.entries(spec.profiles ?? {})) {
      if (!isValidName(node))
        throw new LabError('invalid_name', `profile name "${node}" is not a valid device name`, {
          hint: `use ${NAME_RULE}`,
        });
      writeFileAtomic(join(dir, 'profiles', `${node}.json`), json(profile), 0o600);
    }
    return dir;
  }

  /**
   * A deployed lab as the tools users already have read it: an Ansible
   * inventory, containerlab's topology-data.json, or its ssh_config (what
   * deploy wrote into the lab dir, made again from the recorded plan).
   */
  inventory(ref: LabRef, format: InventoryFormat): string {
    const plan = loadLab(ref).plan;
    if (format === 'json') return topologyDataText(plan);
    if (format === 'ssh-config') return sshConfigText(plan);
    return ansibleInventory(plan);
  }

  /** The topology with interface names as Mermaid or DOT: a spec dir's (deployed or not) or a deployed lab's. */
  graph(from: { specDir: string } | { ref: LabRef }, format: GraphFormat): string {
    return renderGraph('specDir' in from ? graphOfSpecDir(from.specDir) : graphOfPlan(loadLab(from.ref).plan), format);
  }

  /** Labs whose nodes run on the image file at `path` (what the image library asks before removing one). */
  imageUsers(path: string): string[] {
    return listLabs(this.root).filter((lab) => {
      try {
        return loadLab({ name: lab, dir: labDir(this.root, lab) }).plan.nodes.some((n) => n.image.path === path);
      } catch {
        return false;
      }
    });
  }
}
