import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { baseSpec, writeSpecDir } from '../../helpers/specDir.js';
import { planFor } from '../../helpers/planFor.js';
import { sshConfigText, sshConfigValue } from '../../../src/lab/node/sshFiles.js';
import { identityArgv } from '../../../src/lab/snapshot/checkpoint.js';
import { sshInvocation } from '../../../src/lab/node/sshCommand.js';
import type { LabPlan } from '../../../src/plan/labPlan.js';
import type { LabState } from '../../../src/lab/state/labState.js';
import { VmlabError } from '../../../src/errors/vmlabError.js';

/*
 * Defence in depth behind the spec checks: a user or path that got past
 * them (a recorded plan, an image's default user, a checkpoint record from
 * someone else's archive) still never adds an ssh_config line nor becomes
 * an ssh option. Checked against the real OpenSSH: `ssh -G` prints the
 * options a command line and config resolve to, without connecting.
 */

const plan = (): LabPlan => structuredClone(planFor(writeSpecDir(baseSpec())));
const sshG = (args: string[]) => execFileSync('ssh', ['-G', ...args], { encoding: 'utf8' });
const option = (out: string, key: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith(`${key} `))
    .map((l) => l.slice(key.length + 1));
/** ssh fails with this message on stderr. */
const sshRefuses = (args: string[], message: RegExp) =>
  assert.throws(
    () => sshG(args),
    (e: { stderr?: string }) => message.test(e.stderr ?? ''),
  );

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** ssh -v against a listener that accepts and says nothing: its debug output names the key files it loads. */
async function identityFileOpened(cfg: string, host: string): Promise<string> {
  const server = createServer((sock) => setTimeout(() => sock.destroy(), 1500));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const args = ['-v', '-F', cfg, '-p', String(port), '-o', 'ConnectTimeout=5', '-o', 'BatchMode=yes', host, 'true'];
      execFile('ssh', args, { timeout: 10_000 }, (_e, _o, stderr) => resolve(stderr));
    });
  } finally {
    server.close();
  }
}

const refuses = (fn: () => unknown, code: string, part: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VmlabError);
    assert.equal(e.code, code);
    assert.equal(e.kind, 'input');
    assert.ok(e.message.includes(part), e.message);
    return true;
  });

const hostileUsers = ['admin\nProxyCommand touch /tmp/vmlab-pwned', 'admin\rProxyCommand x'];
hostileUsers.push('-oProxyCommand=touch /tmp/x', 'a b', 'a"b', '%d', 'root@1.2.3.4', '');

describe('the ssh_config writer with hostile strings', () => {
  for (const user of hostileUsers) {
    it(`refuses the user ${JSON.stringify(user)}`, () => {
      const p = plan();
      p.nodes[1]!.credentials.user = user;
      const message = `refusing to write the user ${JSON.stringify(user)} into the lab's ssh_config`;
      refuses(() => sshConfigText(p), 'unsafe_ssh_user', message);
    });
  }

  for (const bad of ['/tmp/a\nProxyCommand id', '/tmp/a"b', '/tmp/a\u0000b', '/tmp/a\tb']) {
    it(`refuses the key path ${JSON.stringify(bad)}`, () => {
      const p = plan();
      p.files.labKey = bad;
      const message = `refusing to write the key file ${JSON.stringify(bad)} into the lab's ssh_config`;
      refuses(() => sshConfigText(p), 'unsafe_ssh_config', message);
    });
  }

  it('refuses a host name or address that is more than one word', () => {
    const p = plan();
    p.nodes[0]!.name = 'r1 *';
    refuses(() => sshConfigText(p), 'unsafe_ssh_config', 'refusing to write the host "r1 *"');
    const q = plan();
    q.nodes[0]!.mgmtIp = '127.0.0.1\nProxyCommand id';
    refuses(() => sshConfigText(q), 'unsafe_ssh_config', 'refusing to write the address');
  });

  it("writes one line per setting, and OpenSSH reads back exactly the paths given (spaces, %, #, \\, ')", async () => {
    const dir = join(mkdtempSync('/tmp/vmlab-sshcfg-'), "my lab %h #1 \\ it's");
    mkdirSync(dir);
    const p = plan();
    p.files.labKey = join(dir, 'lab.key');
    p.files.knownHosts = join(dir, 'known_hosts');
    const text = sshConfigText(p);
    // Each Host block is its name and the 9 settings vmlab writes: nothing was split into a second line.
    for (const block of text.split(/^Host /m).slice(1)) assert.equal(block.trim().split('\n').length, 10, block);
    const cfg = join(dir, 'ssh_config');
    writeFileSync(cfg, text);
    const out = sshG(['-F', cfg, 'r2']);
    // -G shows known_hosts expanded, but key file names before %-expansion: the one ssh opens is checked below.
    assert.deepEqual(option(out, 'identityfile'), [p.files.labKey.replace(/%/g, '%%')]);
    assert.deepEqual(option(out, 'userknownhostsfile'), [p.files.knownHosts]);
    assert.deepEqual(option(out, 'user'), ['admin']);
    assert.deepEqual(option(out, 'hostname'), ['127.0.0.1']);
    assert.deepEqual(option(out, 'proxycommand'), []);
    // (ssh's log writes a backslash as two)
    const logged = escapeRe(p.files.labKey.replace(/\\/g, '\\\\'));
    assert.match(await identityFileOpened(cfg, 'r2'), new RegExp(`identity file ${logged} type -1`));
  });

  it('quotes what needs quoting and nothing else', () => {
    assert.equal(sshConfigValue('x', '/a/b'), '/a/b');
    assert.equal(sshConfigValue('x', '/a b/%c', 'path'), '"/a b/%%c"');
    assert.equal(sshConfigValue('x', '/a\\b'), '"/a\\\\b"');
    assert.equal(sshConfigValue('x', '#x'), '"#x"');
  });
});

describe('ssh argv builders with hostile strings', () => {
  const node = { sshPort: 40022, mgmtIp: '127.0.0.1' };

  for (const user of hostileUsers) {
    it(`the checkpoint login refuses the user ${JSON.stringify(user)}`, () => {
      const message = `refusing to write the user ${JSON.stringify(user)} on ssh's command line`;
      refuses(() => identityArgv(user, '/k', node), 'unsafe_ssh_user', message);
    });
  }

  it('the checkpoint login passes the user with -l and ends the options before the address', () => {
    const argv = identityArgv('debian', '/k', node);
    assert.deepEqual(argv.slice(-5), ['-l', 'debian', '--', '127.0.0.1', 'sudo -n sh -s']);
    assert.ok(!argv.some((a) => a.includes('@')), argv.join(' '));
    // OpenSSH reads it as meant: that user, that address, no proxy.
    const out = sshG(argv.slice(1, -1));
    assert.deepEqual(option(out, 'user'), ['debian']);
    assert.deepEqual(option(out, 'hostname'), ['127.0.0.1']);
    assert.deepEqual(option(out, 'port'), ['40022']);
  });

  it('in that argv shape an option-like user stays a user, where user@address made it an option', () => {
    const user = '-oProxyCommand=/bin/true';
    // Before: `${user}@${ip}` is one word that starts with '-': ssh reads a ProxyCommand.
    const before = sshG(['-p', '40022', `${user}@127.0.0.1`, 'node']);
    assert.deepEqual(option(before, 'proxycommand'), ['/bin/true@127.0.0.1']);
    // Now: -l takes the next word as the user whatever it is (OpenSSH then refuses one starting with '-').
    sshRefuses(['-l', user, '-p', '40022', '--', '127.0.0.1'], /remote username contains invalid characters/);
    // After --, even a destination that looks like an option is a destination (and refused as one).
    sshRefuses(['-l', 'svc', '--', '-oProxyCommand=/bin/true'], /hostname contains invalid characters/);
  });

  it('vmlab ssh puts -- before the node, and the command after it', () => {
    const p = plan();
    const state = { name: p.name, plan: p } as unknown as LabState;
    const { argv } = sshInvocation(state, 'r2', ['echo', 'a b'], { VMLAB_SSH: 'ssh' });
    assert.deepEqual(argv.slice(-3), ['--', 'r2', "echo 'a b'"]);
    assert.deepEqual(sshInvocation(state, 'r2', [], { VMLAB_SSH: 'ssh' }).argv.slice(-2), ['--', 'r2']);
  });
});
