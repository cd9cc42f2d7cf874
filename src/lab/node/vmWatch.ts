import { QmpClient, type QmpEvent } from '../../qemu/qmp.js';
import { isAlive } from '../../host/processes.js';

/** Why a booting VM will never answer SSH. */
export type VmFaultKind = 'internal-error' | 'guest-panicked' | 'shutdown' | 'exited';

export interface VmFault {
  kind: VmFaultKind;
  /** Milliseconds after the QEMU started. */
  afterMs: number;
  /** The QMP status or event behind it, as QEMU said it. */
  detail: string;
}

/** QMP run states (query-status) that end a boot. */
const FATAL_STATUS: Record<string, VmFaultKind> = {
  'internal-error': 'internal-error',
  'guest-panicked': 'guest-panicked',
  shutdown: 'shutdown',
};

/** SHUTDOWN reasons that come from the guest, not from us or the user. */
const GUEST_SHUTDOWN = new Set(['guest-shutdown', 'guest-panic']);

const POLL_MS = 250;
const STATUS_EVERY_MS = 1000;

/**
 * Watch a booting VM over QMP and its process until `signal` aborts.
 * Resolves with the first fault (internal-error, panic, guest power-off,
 * exit), or null once aborted. Holds the node's QMP connection meanwhile:
 * QEMU serves one client at a time, so callers abort before using QMP.
 */
export function watchVm(qmpPath: string, pid: number, startedAt: number, signal: AbortSignal): Promise<VmFault | null> {
  return new Promise((resolve) => {
    let qmp: QmpClient | undefined;
    let done = false;
    const finish = (fault: VmFault | null) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      signal.removeEventListener('abort', onAbort);
      qmp?.close();
      resolve(fault);
    };
    const fault = (kind: VmFaultKind, detail: string) => finish({ kind, afterMs: Date.now() - startedAt, detail });
    const onAbort = () => finish(null);
    if (signal.aborted) return finish(null);
    signal.addEventListener('abort', onAbort);

    const checkStatus = () => {
      if (!qmp || done) return;
      qmp
        .execute('query-status')
        .then((r) => {
          const status = (r as { status?: string }).status ?? '';
          const kind = FATAL_STATUS[status];
          if (kind) fault(kind, `QMP status ${status}`);
        })
        .catch(() => undefined);
    };
    let lastStatus = Date.now();
    const poll = setInterval(() => {
      if (!isAlive(pid)) return fault('exited', 'the QEMU process is gone');
      if (Date.now() - lastStatus >= STATUS_EVERY_MS) {
        lastStatus = Date.now();
        checkStatus();
      }
    }, POLL_MS);

    QmpClient.connect(qmpPath, 3000)
      .then((client) => {
        if (done) return client.close();
        qmp = client;
        client.onEvent((e: QmpEvent) => {
          if (e.event === 'GUEST_PANICKED')
            fault('guest-panicked', `QMP event GUEST_PANICKED ${JSON.stringify(e.data ?? {})}`);
          else if (e.event === 'SHUTDOWN' && GUEST_SHUTDOWN.has(String(e.data?.reason)))
            fault('shutdown', `QMP event SHUTDOWN (${String(e.data?.reason)})`);
          else if (e.event === 'STOP') checkStatus();
        });
        client.onClose(() =>
          setTimeout(() => !done && !isAlive(pid) && fault('exited', 'the QEMU process is gone'), POLL_MS),
        );
        checkStatus();
      })
      .catch(() => {
        /* no QMP (yet): the process poll still catches an exit */
      });
  });
}

/** A fault in words, with the next step. */
export function describeFault(
  f: VmFault,
  node: string,
  files: { log: string; serialLog: string },
): { message: string; hint: string } {
  const at = `${(f.afterMs / 1000).toFixed(1)} s into its boot`;
  switch (f.kind) {
    case 'internal-error':
      return {
        message:
          `${node}: the VM stopped with an emulation error ${at} ` +
          `(QMP status internal-error; QEMU's register dump is in ${files.log})`,
        hint:
          'this accelerator cannot run this guest; VMLAB_ACCEL=tcg forces software emulation, ' +
          'and `vmlab doctor` shows what vmlab found',
      };
    case 'guest-panicked':
      return {
        message: `${node}: the guest kernel panicked ${at}`,
        hint: `read the end of ${files.serialLog}, or watch the next boot with: vmlab console ${node}`,
      };
    case 'shutdown':
      return {
        message: `${node}: the guest shut itself down ${at} (${f.detail})`,
        hint: `read the end of ${files.serialLog}`,
      };
    case 'exited':
      return { message: `${node}: QEMU exited ${at}`, hint: `read ${files.log}` };
  }
}
