import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { api, withTicket } from '../../../lib/api.js';
import type { Lab } from '../../../lib/types.js';

/** Node states with no QEMU behind them: no console to dial. */
const DOWN = new Set(['stopped', 'shut down', 'exited', 'failed', 'crashed']);

type Link = 'connecting' | 'open' | 'closed';

/** The console's WebSocket URL with a single-use ticket (a browser's WebSocket sends no Authorization header). */
async function consoleUrl(lab: string, node: string): Promise<string> {
  const path = await withTicket(`/labs/${encodeURIComponent(lab)}/nodes/${encodeURIComponent(node)}/console`);
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/**
 * A node's serial console in xterm.js over the API's WebSocket (raw bytes
 * both ways). The pane resizes with its box; when the socket closes (the
 * node stopped or restarted) it keeps trying to connect again, so a
 * restarted node's console comes back in the same pane.
 */
export function ConsolePane({ lab, node, onClose }: { lab: string; node: string; onClose: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const [link, setLink] = useState<Link>('connecting');
  useEffect(() => {
    const term = new Terminal({
      convertEol: false,
      fontSize: 13,
      scrollback: 5000,
      fontFamily: 'ui-monospace, Menlo, Consolas, monospace',
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(box.current!);
    const encoder = new TextEncoder();
    let ws: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let disposed = false;
    const closed = () => {
      if (disposed) return;
      setLink('closed');
      term.write('\r\n\x1b[33m[console closed: reconnecting…]\x1b[0m\r\n');
      retry = setTimeout(connect, 2000);
    };
    const open = (url: string) => {
      if (disposed) return;
      ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => setLink('open');
      ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) =>
        term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
      ws.onclose = closed;
    };
    const connect = () => {
      setLink('connecting');
      // A node known to be down is asked again later, not dialled: a refused handshake is an error in the browser console.
      api<Lab>(`/labs/${encodeURIComponent(lab)}`)
        .then((l) =>
          DOWN.has(l.nodes.find((n) => n.node === node)?.status ?? '')
            ? Promise.reject(new Error('down'))
            : consoleUrl(lab, node),
        )
        .then(open, closed);
    };
    const typed = term.onData((d) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
    });
    connect();
    return () => {
      disposed = true;
      clearTimeout(retry);
      typed.dispose();
      resize.disconnect();
      ws?.close();
      term.dispose();
    };
  }, [lab, node]);
  return (
    <div className="console" data-testid={`console-${node}`}>
      <div className="console-head">
        <strong>{node}</strong>
        <span className={`badge ${link === 'open' ? 'ok' : link === 'closed' ? 'bad' : 'busy'}`}>
          {link === 'open' ? 'connected' : link}
        </span>
        <button type="button" onClick={onClose} aria-label={`close the console of ${node}`}>
          Close
        </button>
      </div>
      <div className="console-body" ref={box} />
    </div>
  );
}
