import { stringify } from 'yaml';
import { TOPOLOGY } from '../spec/loadSpec.js';
import type { LabPlan, NodePlan } from './labPlan.js';
import { join } from 'node:path';
import { inventoryFile } from './labFiles.js';

/*
 * What a deployed lab looks like to the tools users already have: an
 * Ansible inventory and a containerlab-shaped topology-data.json. Pure
 * functions of the plan; deploy writes them into the lab dir (plan/labFiles)
 * and `vmlab inventory` prints them.
 */

export const INVENTORY_FORMATS = ['ansible', 'json', 'ssh-config'] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];

/** Ansible group names are identifiers: anything else becomes "_" (Ansible warns about "-"). */
export function ansibleGroup(platform: string): string {
  const g = platform.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(g) ? `_${g}` : g;
}

/** The guest's name for its management NIC: a host device's is mgmt0 (eth0 is its first data port). */
export const mgmtInterface = (n: NodePlan) => (n.deviceType === 'host' ? 'mgmt0' : 'eth0');

/**
 * Ansible inventory (YAML): one group per platform (nodes without one are
 * ungrouped), ansible_host/port/user per node, the lab key and known_hosts
 * for every node. No passwords: with ansible_password set, Ansible insists
 * on sshpass even where the lab key logs in (use --ask-pass for those nodes).
 */
export function ansibleInventory(plan: LabPlan): string {
  const hostVars = (n: NodePlan) => ({
    ansible_host: n.mgmtIp,
    ansible_port: n.sshPort,
    ansible_user: n.credentials.user,
    // The console where it is: a TCP port only with console_tcp, else the owner's unix socket.
    ...(n.consolePort !== null ? { vmlab_console_port: n.consolePort } : { vmlab_console_socket: n.files.console }),
    ...(n.platform ? { vmlab_platform: n.platform } : {}),
    ...(n.deviceType ? { vmlab_device_type: n.deviceType } : {}),
  });
  const groups = new Map<string, Record<string, unknown>>();
  const ungrouped: Record<string, unknown> = {};
  for (const n of plan.nodes) {
    if (!n.platform) {
      ungrouped[n.name] = hostVars(n);
      continue;
    }
    const g = ansibleGroup(n.platform);
    if (!groups.has(g)) groups.set(g, {});
    groups.get(g)![n.name] = hostVars(n);
  }
  const all: Record<string, unknown> = {
    vars: {
      vmlab_lab: plan.name,
      ansible_ssh_private_key_file: plan.files.labKey,
      // Ports are reused between labs: the lab's own known_hosts, never ~/.ssh/known_hosts.
      ansible_ssh_common_args: `-o UserKnownHostsFile=${plan.files.knownHosts} -o StrictHostKeyChecking=accept-new`,
    },
  };
  if (Object.keys(ungrouped).length) all.hosts = ungrouped;
  if (groups.size)
    all.children = Object.fromEntries(
      [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([g, hosts]) => [g, { hosts }]),
    );
  return (
    `# vmlab lab "${plan.name}": ansible -i ${inventoryFile(plan.files.dir)} all -m ping\n` +
    stringify({ all }, { lineWidth: 0 })
  );
}

/**
 * topology-data.json in containerlab's shape (name, type, clab.config,
 * nodes by name with mgmt address, labels and port bindings, links with
 * a/z endpoints), so scripts and viewers written for containerlab read a
 * vmlab lab. Management addresses are where SSH is forwarded (mgmt_ip),
 * the guest's own port 22 being `port-bindings[].port`.
 */
export function topologyData(plan: LabPlan): Record<string, unknown> {
  const topoFile = join(plan.specDir, TOPOLOGY);
  const nodes = Object.fromEntries(
    plan.nodes.map((n) => [
      n.name,
      {
        index: String(n.index),
        shortname: n.name,
        longname: `vmlab-${plan.name}-${n.name}`,
        fqdn: `${n.name}.${plan.name}.io`,
        group: n.platform ?? '',
        labdir: plan.files.dir,
        kind: n.platform ?? 'vm',
        image: n.image.path,
        'mgmt-net': 'user',
        'mgmt-intf': mgmtInterface(n),
        'mgmt-ipv4-address': n.mgmtIp,
        'mgmt-ipv4-prefix-length': 32,
        'mgmt-ipv6-address': '',
        'mgmt-ipv6-prefix-length': 0,
        'mac-address': n.nics[0]!.mac,
        labels: {
          'clab-node-group': n.platform ?? '',
          'clab-node-kind': n.platform ?? 'vm',
          'clab-node-lab-dir': plan.files.dir,
          'clab-node-name': n.name,
          'clab-node-type': n.deviceType ?? 'device',
          'clab-topo-file': topoFile,
          containerlab: plan.name,
          'vmlab-ssh-user': n.credentials.user,
          ...(n.consolePort !== null
            ? { 'vmlab-console-port': String(n.consolePort) }
            : { 'vmlab-console-socket': n.files.console }),
        },
        'port-bindings': [{ 'host-ip': n.mgmtIp, 'host-port': n.sshPort, port: 22, protocol: 'tcp' }],
      },
    ]),
  );
  // Multi-host: a cross-host link's far end is another host's node, whose MACs that host's file gives.
  const macOf = (e: { node: string; nic: number }) => plan.nodes.find((n) => n.name === e.node)?.nics[e.nic]?.mac ?? '';
  const end = (e: { node: string; iface: string; nic: number }, peer: 'a' | 'z') => ({
    node: e.node,
    interface: e.iface,
    mac: macOf(e),
    peer,
  });
  return {
    name: plan.name,
    type: 'clab',
    clab: {
      config: {
        prefix: 'vmlab',
        mgmt: { network: 'user', 'ipv4-subnet': '', 'ipv4-gw': '' },
        'config-path': plan.specDir,
      },
    },
    'ssh-pub-keys': [],
    nodes,
    links: plan.links.map((l) => ({ a: end(l.a, 'z'), z: end(l.z, 'a') })),
  };
}

export const topologyDataText = (plan: LabPlan) => JSON.stringify(topologyData(plan), null, 2) + '\n';
