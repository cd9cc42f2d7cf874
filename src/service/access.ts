import {
  assertConsoleFree,
  attachConsole,
  consoleAddress,
  consoleAddressText,
  holdConsole,
  type ConsoleAddress,
} from '../lab/node/console.js';
import { runningNode } from '../lab/node/nodeControl.js';
import { sshInvocation } from '../lab/node/sshCommand.js';
import { runSshSession, type SessionIo } from '../lab/node/sshSession.js';
import { loadLab, type LabRef } from '../lab/state/labSelect.js';
import type { Settings } from '../host/settings.js';
import { consoleHolderFile } from '../plan/labFiles.js';

/** The terminal `vmlab ssh` runs OpenSSH with (stdin and stdout are inherited); `exec` hears its argv first. */
export interface SshIo extends SessionIo {
  exec?(argv: readonly string[]): void;
}

/** The terminal `vmlab console` attaches; `attached` hears where the console is, before any byte flows. */
export interface ConsoleTerminal {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  attached?(where: string): void;
}

/**
 * Into a running node: an SSH session and its serial console, for a
 * terminal (the CLI) or a WebSocket (the server). Each call reads the
 * lab's state from disk, as LabService does.
 */
export class AccessService {
  /** What lab/ reads itself (VMLAB_SSH…): the environment as given, until lab/ takes Settings. */
  private readonly env: Readonly<NodeJS.ProcessEnv>;

  constructor(settings: Settings) {
    this.env = settings.childEnv;
  }

  /** `vmlab ssh`/`exec` on a running node: OpenSSH on this terminal; the remote command's exit code. */
  ssh(ref: LabRef, node: string, command: string[], io: SshIo): Promise<number> {
    const state = loadLab(ref);
    runningNode(state, node);
    io.exec?.(sshInvocation(state, node, command, this.env).argv);
    return runSshSession(state, node, command, io, this.env);
  }

  /** Where a running node's serial console listens: its private unix socket (or 127.0.0.1:port with console_tcp). */
  consoleAddress(ref: LabRef, node: string): ConsoleAddress {
    const state = loadLab(ref);
    return consoleAddress(runningNode(state, node));
  }

  /** The console of a running node for a terminal to attach to; a conflict while a server holds that console. */
  consoleForTerminal(ref: LabRef, node: string): ConsoleAddress {
    const address = this.consoleAddress(ref, node);
    assertConsoleFree(consoleHolderFile(ref.dir, node), node);
    return address;
  }

  /** `vmlab console`: the terminal raw on the node's console until Ctrl-] (or the console closes). */
  async attachTerminal(ref: LabRef, node: string, terminal: ConsoleTerminal): Promise<void> {
    const address = this.consoleForTerminal(ref, node);
    terminal.attached?.(consoleAddressText(address));
    await attachConsole(address, terminal.input, terminal.output);
  }

  /** Mark a node's console as held by this process (until the returned function runs): `vmlab console` then says so. */
  holdConsole(ref: LabRef, node: string): () => void {
    return holdConsole(consoleHolderFile(ref.dir, node));
  }
}

export type { ConsoleAddress };
