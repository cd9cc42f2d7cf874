import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { startServer, type StartedServer } from '../../api/server.js';
import { OptionError, wholeNumberOption } from '../options.js';
import { services } from '../services.js';
import { style } from '../output.js';

const GIB = 1024 ** 3;

/** `host:port`, `[v6]:port`, or a bare port. */
export function parseListen(value: string): { host: string; port: number } {
  const v = value.trim();
  const parts: { host?: string; port?: string } | undefined = /^\d+$/.test(v)
    ? { host: '127.0.0.1', port: v }
    : (/^\[(?<host>[0-9a-fA-F:.]+)\]:(?<port>\d+)$/.exec(v)?.groups ??
      /^(?<host>[A-Za-z0-9.-]+):(?<port>\d+)$/.exec(v)?.groups);
  const port = Number(parts?.port);
  if (!parts?.host || !Number.isInteger(port) || port > 65535)
    throw new OptionError(
      'bad_option',
      `option --listen: expected host:port (e.g. 127.0.0.1:8080), got ${JSON.stringify(value)}`,
    );
  return { host: parts.host, port };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** A --host-name value: a DNS name or address, optionally with a port. */
export function parseHostName(value: string): string {
  const v = value.trim();
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(v)) {
    throw new OptionError(
      'bad_option',
      'option --host-name: expected a host name as a browser sends it in Host ' +
        `(e.g. lab.example.org or lab.example.org:8443), got ${JSON.stringify(value)}`,
    );
  }
  return v.toLowerCase();
}

/** What `vmlab serve` prints once listening: one write, so whoever reads the banner also has the warning. */
function banner(s: StartedServer, host: string, morePaths: boolean, hostNames: string[]): string {
  const base = `${s.scheme}://${s.loginHost}:${s.port}`;
  const exposed = s.loopback
    ? []
    : [
        style.errYellow(
          `warning: listening on ${host}: the API is reachable from the network` +
            `${s.scheme === 'https' ? '' : ' without TLS (the token travels in clear: use --tls-cert/--tls-key)'}`,
        ),
      ];
  return (
    [
      `vmlab API on ${s.scheme}://${s.shownHost}:${s.port}/`,
      `  login link: ${base}/#token=${s.token}`,
      `  token: ${s.tokenFrom}`,
      `  OpenAPI: ${base}/api/v1/openapi.json`,
      `  paths in requests: ${s.app.paths.roots.join(', ')}${morePaths ? '' : ' (more: --allow-path DIR)'}`,
      ...(hostNames.length ? [`  host names: ${hostNames.join(', ')}`] : []),
      ...(s.reapedJobs ? [`  ${s.reapedJobs} job(s) left running by a dead process marked failed`] : []),
      ...exposed,
    ].join('\n') + '\n'
  );
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (and web UI): the same services as the CLI, behind a token')
    .option(
      '--listen <host:port>',
      'address to listen on (anything but loopback is reachable from the network)',
      '127.0.0.1:8080',
    )
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (use it when listening beyond loopback)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--allow-path <dir>',
      'a directory (besides VMLAB_HOME) that paths in requests may name: ' +
        'spec dirs, imports, scans, exports; repeatable',
      collect,
      [],
    )
    .option(
      '--host-name <name>',
      'a name (besides the listen address and localhost) clients may reach the server by, ' +
        'e.g. behind a reverse proxy; repeatable',
      collect,
      [],
    )
    .addOption(
      wholeNumberOption('--max-upload <GiB>', 'largest image upload accepted', {
        unit: 'GiB',
        min: 1,
        max: 4096,
        default: 64,
      }),
    )
    .addHelpText(
      'after',
      `
The token is in $VMLAB_HOME/api-token (created on first start, mode 0600; VMLAB_API_TOKEN overrides it).
Clients send Authorization: Bearer <token>; a browser opens the login link printed at start
(the token travels in the #fragment, which the browser keeps in the tab and never sends; no cookie).
Paths in requests (spec_dir, import path, scan dir, snapshot export and warm-start files) must be
inside VMLAB_HOME or an --allow-path directory. The Host header must be the listen address,
localhost/127.0.0.1/[::1] with the port, or a --host-name (against DNS rebinding).
With AUTO_DOWNLOAD_IMAGES=true the missing default images are pulled in the background.

Examples:
  vmlab serve
  vmlab serve --allow-path ~/labs
  vmlab serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem --host-name lab.example.org`,
    )
    .action(
      async (opts: {
        listen: string;
        tlsCert?: string;
        tlsKey?: string;
        maxUpload: number;
        allowPath: string[];
        hostName: string[];
      }) => {
        const { host, port } = parseListen(opts.listen);
        const hostNames = opts.hostName.map(parseHostName);
        if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey))
          throw new OptionError('bad_option', 'options --tls-cert and --tls-key go together: give both or neither');
        const tls =
          opts.tlsCert && opts.tlsKey
            ? { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) }
            : undefined;
        const svc = services();
        const { app } = await startServer(svc.settings, svc, {
          host,
          port,
          maxUploadBytes: opts.maxUpload * GIB,
          allowPaths: opts.allowPath,
          hostNames,
          ...(tls ? { tls } : {}),
          announce: (s) => process.stderr.write(banner(s, host, opts.allowPath.length > 0, hostNames)),
        });

        await new Promise<void>((resolve) => {
          const stop = (sig: NodeJS.Signals) => {
            process.removeListener('SIGINT', stop);
            process.removeListener('SIGTERM', stop);
            process.stderr.write(`${sig}: closing the server\n`);
            void app.close().then(() => resolve());
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      },
    );
}
