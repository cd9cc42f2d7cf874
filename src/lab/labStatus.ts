import type { LabState } from './labState.js';
import { nodeIsUp } from './nodeControl.js';

export interface NodeRow {
  node: string;
  status: string;
  pid: number | null;
  mgmt_ip: string;
  ssh_port: number;
  console_port: number;
  platform: string | null;
  image: string;
}

/** What is really running, not just what state.json last said: a recorded pid that died shows as "exited". */
export function nodeRows(state: LabState): NodeRow[] {
  return state.plan.nodes.map((n) => {
    const ns = state.nodes[n.name]!;
    let status: string = ns.status;
    if ((status === 'running' || status === 'starting') && !nodeIsUp(state, n.name)) status = 'exited';
    return {
      node: n.name,
      status,
      pid: status === 'running' || status === 'starting' ? ns.pid : null,
      mgmt_ip: ns.mgmt_ip,
      ssh_port: ns.ssh_port,
      console_port: ns.console_port,
      platform: n.platform,
      image: n.image.path,
    };
  });
}
