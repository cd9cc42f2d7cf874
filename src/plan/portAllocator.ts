import type { LinkTransport } from './labPlan.js';
import type { IssueList } from '../spec/specError.js';

export const PORT_DEFAULTS = { link_port_base: 20000, console_port_base: 30000, ssh_port_base: 40000 };
export type PortBaseKey = keyof typeof PORT_DEFAULTS;

export interface PortAssignment {
  console: number[];
  ssh: number[];
  /** Per link: [A's port, Z's port] (the same port for TCP). */
  links: Array<[number, number]>;
}

export interface PortInput {
  bases: Record<PortBaseKey, number>;
  /** Node names sorted: index i gets base + i. */
  nodes: string[];
  /** Link descriptions in link-index order, for messages. */
  links: string[];
  transport: LinkTransport;
  /** Settings section name and file, for messages. */
  section: string;
  file: string;
}

/**
 * Seed §5.2: link ports `link_port_base + link index` (UDP: each endpoint
 * its own port, `base + 2i` for A and `base + 2i + 1` for Z); console and
 * SSH ports `base + node index`. Rejects any port above 65535 and any port
 * used twice, before anything starts.
 */
export function allocatePorts(input: PortInput, issues: IssueList): PortAssignment {
  const { bases, nodes, links, transport, section, file } = input;
  const out: PortAssignment = {
    console: nodes.map((_, i) => bases.console_port_base + i),
    ssh: nodes.map((_, i) => bases.ssh_port_base + i),
    links: links.map((_, i) =>
      transport === 'udp'
        ? [bases.link_port_base + 2 * i, bases.link_port_base + 2 * i + 1]
        : [bases.link_port_base + i, bases.link_port_base + i],
    ),
  };

  const users = new Map<number, string>();
  const use = (port: number, who: string, key: PortBaseKey) => {
    if (port > 65535) {
      issues.add(
        file,
        `${section}.${key}`,
        `${who} would get port ${port}, above 65535`,
        `lower ${key} (now ${bases[key]}) so that all ports fit below 65536`,
      );
      return;
    }
    const prev = users.get(port);
    if (prev) {
      issues.add(
        file,
        `${section}.${key}`,
        `port ${port} is used twice: ${prev} and ${who}`,
        'move the port bases apart (link_port_base, console_port_base, ssh_port_base) so their ranges do not overlap',
      );
    } else {
      users.set(port, who);
    }
  };
  for (const [i, n] of nodes.entries()) use(out.console[i]!, `the console of ${n}`, 'console_port_base');
  for (const [i, n] of nodes.entries()) use(out.ssh[i]!, `SSH of ${n}`, 'ssh_port_base');
  links.forEach((l, i) => {
    const [pa, pz] = out.links[i]!;
    use(pa, `link ${i} (${l})`, 'link_port_base');
    if (pz !== pa) use(pz, `link ${i} (${l}), Z side`, 'link_port_base');
  });
  return out;
}
