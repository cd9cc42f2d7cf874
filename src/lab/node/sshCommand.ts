import { join } from 'node:path';
import { packageRoot } from '../../packageRoot.js';
import type { LabState } from '../state/labState.js';
import { nodeOf } from '../state/labSelect.js';
import { shellQuote } from '../../host/shellQuote.js';

// Still imported from here by lab/ (allHosts, checkpoint); its home is host/.
export { shellQuote };

export interface SshInvocation {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * The OpenSSH command for a node. With a command, its arguments survive
 * as separate words on the remote side (as `docker exec` keeps them). The
 * lab key is offered first; the profile/platform password is given through
 * SSH_ASKPASS, so nothing ever prompts; with no password, BatchMode.
 * `connectTimeoutS` bounds the TCP connect and the handshake (banner and
 * key exchange) together.
 */
export function sshInvocation(
  state: LabState,
  node: string,
  command: string[],
  env: NodeJS.ProcessEnv,
  connectTimeoutS = 10,
): SshInvocation {
  const n = nodeOf(state, node);
  // VMLAB_SSH: another OpenSSH-compatible client (as VMLAB_QEMU names another QEMU).
  const argv = [env.VMLAB_SSH || 'ssh', '-F', state.plan.files.sshConfig, '-o', `ConnectTimeout=${connectTimeoutS}`];
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (n.credentials.pass) {
    childEnv.SSH_ASKPASS = join(packageRoot(), 'bin', 'vmlab-askpass');
    childEnv.SSH_ASKPASS_REQUIRE = 'force';
    childEnv.VMLAB_SSH_PASS = n.credentials.pass;
    argv.push('-o', 'NumberOfPasswordPrompts=1');
  } else {
    argv.push('-o', 'BatchMode=yes');
  }
  // `--` first: the node name (checked at load) can never be read as an option.
  argv.push('--', node);
  if (command.length) argv.push(command.map(shellQuote).join(' '));
  return { argv, env: childEnv };
}
