import { useState } from 'react';
import { ErrorBox } from '../../../components/ErrorBox.js';
import type { Lab, LabNode } from '../../../lib/types.js';
import { useNodeAction } from '../api/labs.js';

/** One node: status, platform, image, ports, the ssh command to copy, stop/start, and a console. */
export function NodePanel({ lab, node, onConsole }: { lab: Lab; node: LabNode; onConsole: () => void }) {
  const action = useNodeAction();
  const [copied, setCopied] = useState(false);
  const ssh = lab.spec_dir ? `vmlab ssh -S ${lab.spec_dir} ${node.node}` : `vmlab ssh ${node.node}`;
  const running = node.status === 'running';
  const busy = action.isPending && action.variables?.node === node.node;
  const copy = () => {
    void navigator.clipboard?.writeText(ssh).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };
  return (
    <div className="panel node-panel" data-testid={`node-panel-${node.node}`}>
      <h3>{node.node}</h3>
      <dl>
        <dt>Status</dt>
        <dd>
          <span className={`badge ${running ? 'ok' : 'bad'}`}>{node.status}</span>
          {node.error ? <span className="error small">{node.error}</span> : null}
        </dd>
        <dt>Platform</dt>
        <dd>{node.platform ?? '—'}</dd>
        <dt>Image</dt>
        <dd className="wrap">{node.image ?? '—'}</dd>
        <dt>Ports</dt>
        <dd>
          SSH {node.ssh_port ?? '—'} · console{' '}
          {node.console_port !== null ? (
            `tcp ${node.console_port}`
          ) : node.console_socket ? (
            <span title={`a unix socket only the lab's owner can open: ${node.console_socket}`}>private socket</span>
          ) : (
            '—'
          )}
          {node.mgmt_ip ? ` · mgmt ${node.mgmt_ip}` : ''}
        </dd>
        <dt>Accelerator</dt>
        <dd>{node.accel ?? '—'}</dd>
        <dt>Cost</dt>
        <dd>
          {node.rss_bytes !== null
            ? `${Math.round(node.rss_bytes / 2 ** 20)} MiB RSS · ${node.cpu_seconds ?? 0} s CPU`
            : '—'}
        </dd>
      </dl>
      <div className="copy-row">
        <code>{ssh}</code>
        <button type="button" onClick={copy} aria-label="copy the ssh command">
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {node.ssh_port ? <div className="muted small">or: ssh -p {node.ssh_port} &lt;user&gt;@127.0.0.1</div> : null}
      <div className="actions">
        <button type="button" className="primary" onClick={onConsole} disabled={!running}>
          Console
        </button>
        {running ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => action.mutate({ lab: lab.name, node: node.node, action: 'stop' })}
          >
            {busy ? 'Stopping…' : 'Stop'}
          </button>
        ) : (
          <button
            type="button"
            disabled={busy}
            onClick={() => action.mutate({ lab: lab.name, node: node.node, action: 'start' })}
          >
            {busy ? 'Starting… (until SSH answers)' : 'Start'}
          </button>
        )}
      </div>
      <ErrorBox error={action.error} onDismiss={() => action.reset()} />
    </div>
  );
}
