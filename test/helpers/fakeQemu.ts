/**
 * A stand-in for qemu-system-x86_64 that behaves like the real one on each
 * kind of host this project meets, for tests of the accelerator probe and
 * the KVM fallback that must pass whatever the CI machine's KVM does.
 * Started through a wrapper (`exec -a qemu-system-x86_64`) so /proc shows
 * it as QEMU. What it speaks is what QEMU 7.2 sends: the QMP greeting,
 * `{"return": …}` replies, STOP / SHUTDOWN / GUEST_PANICKED events,
 * query-status run states, and KVM's stderr messages.
 *
 * FAKE_KVM   works | reset | run   how KVM behaves (TCG always works)
 * FAKE_GUEST ok | panic | poweroff | hang   what the guest does once it runs
 * FAKE_PROBE pass   the KVM probe passes even where guests then crash (no probe catches every host)
 * FAKE_BOOT_MS (default 300): until the SSH banner; FAKE_CRASH_MS (200): until a KVM run failure
 */
import { writeFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

const argv = process.argv.slice(2);
const env = process.env;
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const accel = opt('-accel')?.split(',')[0] ?? /accel=(\w+)/.exec(opt('-machine') ?? '')?.[1] ?? 'tcg';
const kvm = env.FAKE_KVM ?? 'works';
const guest = env.FAKE_GUEST ?? 'ok';
const bootMs = Number(env.FAKE_BOOT_MS ?? 300);
const crashMs = Number(env.FAKE_CRASH_MS ?? 200);
const isProbe = argv.some((a) => a.startsWith('isa-debug-exit'));

const REGISTER_DUMP = `KVM internal error. Suberror: 1
extra data[0]: 0x0000000000000001
extra data[1]: 0x9090909090c3cf04
emulation failure
EAX=001000cc EBX=3e896766 ECX=00000000 EDX=00100037
EIP=00008ffc EFL=00000006 [-----P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
CS =0020 00000000 ffffffff 00c09b00 DPL=0 CS32 [-RA]
CR0=00000011 CR2=00000000 CR3=00000000 CR4=00000000
Code=eb de ff 0d a8 39 00 00 75 06 ff 15 b4 96 00 00 61 83 c4 04 <cf> c3 90 90
`;

process.on('SIGTERM', () => process.exit(0));

if (accel === 'kvm' && kvm === 'reset') {
  process.stderr.write(
    'qemu-system-x86_64: error: failed to set MSR 0x48f to 0x7fffff00000036fb\n' +
      "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3169: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n",
  );
  process.abort();
}

const runsBroken = accel === 'kvm' && kvm === 'run';

if (isProbe) {
  // The probe boot sector: exits through isa-debug-exit with (0x31 << 1) | 1.
  if (runsBroken && env.FAKE_PROBE !== 'pass') setTimeout(() => process.stderr.write(REGISTER_DUMP), crashMs);
  else setTimeout(() => process.exit(99), 30);
  setInterval(() => undefined, 1 << 30);
} else {
  runNode();
}

function runNode(): void {
  const qmpPath = /^unix:([^,]+)/.exec(opt('-qmp') ?? '')?.[1];
  const pidFile = opt('-pidfile');
  const sshPort = Number(/hostfwd=tcp:127\.0\.0\.1:(\d+)-:22/.exec(argv.join(' '))?.[1] ?? 0);
  if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);

  let status = 'running';
  const clients = new Set<Socket>();
  const event = (name: string, data: Record<string, unknown>) => {
    const t = Date.now();
    const line =
      JSON.stringify({
        event: name,
        data,
        timestamp: { seconds: Math.floor(t / 1000), microseconds: (t % 1000) * 1000 },
      }) + '\n';
    for (const c of clients) c.write(line);
  };
  const exit = (code: number) => {
    if (qmpPath) rmSync(qmpPath, { force: true });
    process.exit(code);
  };

  if (qmpPath) {
    rmSync(qmpPath, { force: true });
    createServer((sock) => {
      clients.add(sock);
      sock.on('close', () => clients.delete(sock));
      sock.on('error', () => undefined);
      sock.write(
        JSON.stringify({
          QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'fake' }, capabilities: ['oob'] },
        }) + '\n',
      );
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl)) as { execute: string };
          buf = buf.slice(nl + 1);
          const reply = (r: unknown) => sock.write(JSON.stringify({ return: r }) + '\n');
          switch (msg.execute) {
            case 'qmp_capabilities':
            case 'netdev_add':
            case 'netdev_del':
              reply({});
              break;
            case 'stop':
              status = 'paused';
              reply({});
              break;
            case 'cont':
              status = 'running';
              reply({});
              break;
            case 'query-status':
              reply({ status, singlestep: false, running: status === 'running' });
              break;
            case 'quit':
              reply({});
              event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
              setTimeout(() => exit(0), 10);
              break;
            case 'system_powerdown':
              reply({});
              event('POWERDOWN', {});
              setTimeout(() => {
                event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
                exit(0);
              }, 50);
              break;
            default:
              sock.write(
                JSON.stringify({
                  error: { class: 'CommandNotFound', desc: `The command ${msg.execute} has not been found` },
                }) + '\n',
              );
          }
        }
      });
    }).listen(qmpPath);
  }

  if (runsBroken) {
    setTimeout(() => {
      process.stderr.write(REGISTER_DUMP);
      status = 'internal-error';
      event('STOP', {});
    }, crashMs);
    return;
  }
  if (guest === 'panic') {
    setTimeout(() => {
      status = 'guest-panicked';
      event('GUEST_PANICKED', { action: 'pause', info: { type: 'hyper-v' } });
      event('STOP', {});
    }, bootMs / 2);
  } else if (guest === 'poweroff') {
    setTimeout(() => {
      event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
      exit(0);
    }, bootMs / 2);
  } else if (guest === 'ok' && sshPort) {
    setTimeout(() => {
      createServer((s) => {
        s.on('error', () => undefined);
        s.end('SSH-2.0-OpenSSH_9.2p1 fake\r\n');
      }).listen(sshPort, '127.0.0.1');
    }, bootMs);
  }
}
