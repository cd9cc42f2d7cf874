import { setMaxListeners } from 'node:events';
import { createConnection } from 'node:net';
import type { NodePlan } from '../../plan/labPlan.js';
import { describeFault, watchVm, type VmFault } from './vmWatch.js';

const PROBE_IDENT = 'SSH-2.0-vmlab_probe\r\n';

/**
 * One attempt: connect and read until a line starting with "SSH-".
 * QEMU's user-mode forward accepts at once and then either drops the
 * connection (guest port closed) or holds it silent (guest network not up
 * yet), so an accepted socket proves nothing.
 */
export function readSshBanner(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 3000,
  signal?: AbortSignal,
): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    // Say our identification first (RFC 4253 lets both sides send at once): passt
    // (Debian 12's) passes nothing from the guest until the host side has spoken.
    socket.on('connect', () => socket.write(PROBE_IDENT));
    let data = '';
    const finish = (v: string | null) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(v);
    };
    const onAbort = () => finish(null);
    signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const line = data.split(/\r?\n/).find((l) => l.startsWith('SSH-'));
      if (line) finish(line);
      else if (data.length > 8192) finish(null);
    });
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
  });
}

export interface WaitResult {
  banner: string | null;
  /** Why waiting stopped without a banner. */
  reason?: 'timeout' | 'exited';
  elapsedMs: number;
}

/** How often a new attempt may start; each attempt may wait longer for its banner. */
const ATTEMPT_EVERY_MS = 200;
const ATTEMPT_TIMEOUT_MS = 5000;
/**
 * Attempts in flight at once. Every attempt becomes a connection in the
 * guest's accept queue once its network is up; unbounded (25 per 5 s) they
 * arrived faster than a slow guest's sshd served them (seen: 8 TCG guests on a
 * loaded 2-core host, 413 connections queued, the banner never reached in 300 s).
 */
const MAX_IN_FLIGHT = 3;

/**
 * Wait until the SSH banner answers, the process dies, or the timeout
 * passes. Attempts overlap (up to three, a new one as soon as one ends, each
 * allowed 5 s), so a connection held silent while the guest boots costs
 * little extra time and a slow banner is still seen.
 */
export function waitForSsh(
  port: number,
  timeoutMs: number,
  stillRunning: () => boolean,
  host = '127.0.0.1',
): Promise<WaitResult> {
  const started = Date.now();
  const abort = new AbortController();
  setMaxListeners(64, abort.signal); // one listener per attempt in flight
  return new Promise((resolve) => {
    let done = false;
    let inFlight = 0;
    const finish = (r: Omit<WaitResult, 'elapsedMs'>) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      abort.abort();
      resolve({ ...r, elapsedMs: Date.now() - started });
    };
    const attempt = () => {
      if (!stillRunning()) return finish({ banner: null, reason: 'exited' });
      const left = started + timeoutMs - Date.now();
      if (left <= 0) return finish({ banner: null, reason: 'timeout' });
      if (inFlight >= MAX_IN_FLIGHT) return;
      inFlight++;
      void readSshBanner(port, host, Math.min(ATTEMPT_TIMEOUT_MS, left), abort.signal).then((banner) => {
        inFlight--;
        if (banner) finish({ banner });
      });
    };
    const tick = setInterval(attempt, ATTEMPT_EVERY_MS);
    attempt();
  });
}

export interface NodeReadiness {
  banner: string | null;
  reason?: 'timeout' | 'fault' | 'aborted';
  fault?: VmFault;
  elapsedMs: number;
}

/**
 * Wait until a node answers SSH, or fails: its VM is watched over QMP the
 * whole time, so a crash, panic, power-off or exit ends the wait within a
 * second instead of at vm_boot_timeout.
 */
export async function waitForNode(
  node: Pick<NodePlan, 'sshPort' | 'files'> & { mgmtIp?: string },
  pid: number,
  startedAt: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<NodeReadiness> {
  const stop = new AbortController();
  const onOuter = () => stop.abort();
  signal?.addEventListener('abort', onOuter);
  const watch = watchVm(node.files.qmp, pid, startedAt, stop.signal).then((f) => {
    if (f) stop.abort();
    return f;
  });
  // Multi-host nodes forward SSH on their host's address (their mgmt_ip), not loopback.
  const ssh = await waitForSsh(node.sshPort, timeoutMs, () => !stop.signal.aborted, node.mgmtIp);
  stop.abort();
  signal?.removeEventListener('abort', onOuter);
  const fault = await watch;
  if (ssh.banner) return { banner: ssh.banner, elapsedMs: ssh.elapsedMs };
  if (fault) return { banner: null, reason: 'fault', fault, elapsedMs: ssh.elapsedMs };
  return { banner: null, reason: ssh.reason === 'timeout' ? 'timeout' : 'aborted', elapsedMs: ssh.elapsedMs };
}

/** Why a node is not ready, in words, with the next step (state.json keeps the message). */
export function readinessFailure(
  r: NodeReadiness,
  node: Pick<NodePlan, 'name' | 'bootTimeoutS' | 'files'>,
): { message: string; hint: string } {
  if (r.fault) return describeFault(r.fault, node.name, node.files);
  if (r.reason === 'aborted') return { message: `${node.name}: stopped waiting (cancelled)`, hint: 'deploy again' };
  return {
    message: `${node.name}: no SSH banner within vm_boot_timeout (${node.bootTimeoutS} s)`,
    hint: `watch it boot with: vmlab console ${node.name}; a slow host may need a larger vm_boot_timeout`,
  };
}
