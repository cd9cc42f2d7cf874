import { existsSync } from 'node:fs';
import { isAlive } from '../../host/processes.js';
import { processCost } from '../../host/hostCapacity.js';
import { labFiles } from '../../plan/labFiles.js';
import { QmpClient } from '../../qemu/qmp.js';
import { deployInterrupted, livePid, scanLabQemus } from './labScan.js';
import { readState, type LabState } from './labState.js';
import type { LabRef } from './labRef.js';
import type { RemoteNode } from '../../plan/labPlan.js';

export interface NodeRow {
  node: string;
  /** From the process and QMP: running, paused, crashed, panicked, shut down, exited, stopped, failed, starting. */
  status: string;
  pid: number | null;
  mgmt_ip: string | null;
  ssh_port: number | null;
  /** TCP console port (a lab with console_tcp); null when the console is `console_socket` (or unknown). */
  console_port: number | null;
  /** The serial console's unix socket, only the owner can open: `vmlab console <node>`. */
  console_socket: string | null;
  platform: string | null;
  image: string | null;
  accel: string | null;
  /** The QEMU process's resident memory and CPU time so far (null when it is not running). */
  rss_bytes: number | null;
  cpu_seconds: number | null;
  error?: string;
  /** Multi-host: the host it runs on. */
  host?: string;
}

/**
 * A lab as it really is: `status` is what state.json says, corrected by
 * the processes (interrupted: the deploying vmlab died; state-lost: QEMUs
 * run but state.json is gone; unreadable: state.json is corrupt).
 */
export interface LabReport {
  name: string;
  status: 'deploying' | 'running' | 'failed' | 'interrupted' | 'state-lost' | 'unreadable';
  hint?: string;
  spec_dir: string | null;
  created: string | null;
  accel: string | null;
  nodes: NodeRow[];
  /** `socket`: "unix" for a link on one host (no port is used), "inet" for one to another host. */
  links: Array<LabState['links'][number] & { socket: 'unix' | 'inet' }>;
}

/** QMP run states in the words `status` shows. */
const RUN_STATE: Record<string, string> = {
  running: 'running',
  paused: 'paused',
  prelaunch: 'starting',
  'internal-error': 'crashed',
  'guest-panicked': 'panicked',
  shutdown: 'shut down',
  'io-error': 'io-error',
  watchdog: 'watchdog',
  'restore-vm': 'restoring',
  'save-vm': 'saving',
  suspended: 'suspended',
  inmigrate: 'migrating',
  postmigrate: 'migrated',
  'finish-migrate': 'migrating',
};

/**
 * The QMP run state of a live VM; null when QMP does not answer quickly (QEMU serves one client: a deploy may hold
 * it).
 */
async function runState(qmpPath: string): Promise<string | null> {
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(qmpPath, 700);
    const r = (await qmp.execute('query-status')) as { status?: string };
    return r.status ?? null;
  } catch {
    return null;
  } finally {
    qmp?.close();
  }
}

/** What a node's QEMU costs the host now. */
function cost(pid: number | null): Pick<NodeRow, 'rss_bytes' | 'cpu_seconds'> {
  const c = pid ? processCost(pid) : null;
  return { rss_bytes: c?.rss_bytes ?? null, cpu_seconds: c?.cpu_seconds ?? null };
}

async function nodeRow(
  state: LabState,
  node: LabState['plan']['nodes'][number],
  scan: Map<string, number>,
): Promise<NodeRow> {
  const ns = state.nodes[node.name]!;
  const pid = livePid(state, node.name, scan);
  let status: string;
  if (pid) {
    const qmp = await runState(node.files.qmp);
    status = qmp ? (RUN_STATE[qmp] ?? qmp) : ns.status === 'starting' ? 'starting' : 'running';
    if (status === 'running' && ns.status === 'starting' && state.status === 'deploying' && !deployInterrupted(state))
      status = 'starting';
  } else {
    status = ns.status === 'running' || ns.status === 'starting' ? 'exited' : ns.status;
  }
  return {
    node: node.name,
    status,
    pid,
    mgmt_ip: ns.mgmt_ip,
    ssh_port: ns.ssh_port,
    console_port: ns.console_port ?? null,
    console_socket: ns.console_socket ?? null,
    platform: node.platform,
    image: node.image.path,
    accel: pid ? (ns.accel ?? state.accel) : null,
    ...cost(pid),
    ...(ns.error && !pid ? { error: ns.error } : {}),
    ...(node.host ? { host: node.host } : {}),
  };
}

/** A node another host runs: this host knows its plan, not its processes. */
const remoteRow = (n: RemoteNode): NodeRow => ({
  node: n.name,
  status: `remote (host ${n.host})`,
  pid: null,
  rss_bytes: null,
  cpu_seconds: null,
  mgmt_ip: n.mgmtIp,
  ssh_port: n.sshPort,
  console_port: n.consolePort ?? null,
  console_socket: null,
  platform: n.platform,
  image: null,
  accel: null,
  host: n.host,
});

/** What `status` shows for one lab, from its processes and QMP first, state.json second. */
export async function labReport(ref: LabRef): Promise<LabReport> {
  const files = labFiles(ref.dir);
  const scan = scanLabQemus(ref.dir);
  let state: LabState | undefined;
  let unreadable = false;
  if (existsSync(files.state)) {
    try {
      state = readState(files.state);
    } catch {
      unreadable = true;
    }
  }
  if (!state) {
    const nodes = [...scan].map(([node, pid]) => ({
      node,
      status: 'running',
      pid,
      mgmt_ip: null,
      ssh_port: null,
      console_port: null,
      console_socket: null,
      platform: null,
      image: null,
      accel: null,
      ...cost(pid),
    }));
    return {
      name: ref.name,
      status: unreadable ? 'unreadable' : 'state-lost',
      hint:
        `${unreadable ? `${files.state} is corrupt` : 'its state.json is gone'}` +
        `${nodes.length ? `; ${nodes.length} QEMU process(es) still run` : ''}` +
        `: remove it with vmlab destroy${unreadable ? ' --force' : ''} ${ref.name}`,
      spec_dir: null,
      created: null,
      accel: null,
      nodes,
      links: [],
    };
  }
  const local = await Promise.all(state.plan.nodes.map((n) => nodeRow(state, n, scan)));
  const nodes = [...local, ...(state.plan.remote ?? []).map(remoteRow)].sort((a, b) => a.node.localeCompare(b.node));
  const interrupted = deployInterrupted(state);
  const leftPaused = state.paused_by !== undefined && state.paused_by !== process.pid && !isAlive(state.paused_by);
  const hint = interrupted
    ? `its deploy (vmlab pid ${state.owner_pid ?? '?'}) was killed before it finished: ` +
      `deploy again (vmlab deploy -S ${state.spec_dir}) or remove it (vmlab destroy ${state.name})`
    : leftPaused
      ? `vmlab (pid ${state.paused_by}) was killed while the lab was paused for a snapshot: ` +
        `resume it with vmlab resume ${state.name}`
      : undefined;
  return {
    name: state.name,
    status: interrupted ? 'interrupted' : state.status,
    ...(hint ? { hint } : {}),
    spec_dir: state.spec_dir,
    created: state.created,
    accel: state.accel,
    nodes,
    // Plans recorded before UNIX links carry no `socket`: those links were inet.
    links: state.links.map((l, i) => ({ ...l, socket: state.plan.links[i]?.socket ?? 'inet' })),
  };
}
