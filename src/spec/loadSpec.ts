import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { readJsonFile, type JsonFile } from './jsonFile.js';
import { isValidName, NAME_RULE } from './names.js';
import { parseHosts, type HostEntry } from './hosts.js';
import {
  platformsFileSchema,
  profileSchema,
  topologySchema,
  type LabSettings,
  type Platform,
  type Profile,
  type Topology,
} from './schema.js';
import { IssueList, jsonPath, SpecError } from './specError.js';
import { zodIssueMessages } from './zodIssue.js';

export interface Endpoint {
  device: string;
  iface: string;
}

export interface LinkSpec {
  index: number;
  a: Endpoint;
  z: Endpoint;
  /** Where the link was declared, for messages. */
  file: string;
  path: string;
}

export interface ProfileFile {
  path: string;
  label: string;
  /** The file as read, byte for byte: restored on destroy. */
  text: string;
  data: Profile;
}

export interface Spec {
  dir: string;
  name: string;
  settings: LabSettings;
  /** `vmlab` or the legacy `newtlab`: messages name the section the user wrote. */
  settingsKey: 'vmlab' | 'newtlab';
  /** Device names in file order. */
  devices: string[];
  /** Interfaces each device lists under `interfaces` (wired or not). */
  listedInterfaces: Record<string, string[]>;
  links: LinkSpec[];
  platforms: Record<string, Platform>;
  profiles: Record<string, ProfileFile>;
  /** `vmlab.hosts`, parsed; empty for a single-host lab. */
  hosts: Record<string, HostEntry>;
  warnings: string[];
}

export const TOPOLOGY = 'topology.json';
export const PLATFORMS = 'platforms.json';

/** `secretOf`: top-level field → the secret its value came from; such values are never quoted. */
function validate<T>(
  schema: z.ZodType<T>,
  file: JsonFile,
  issues: IssueList,
  secretOf = new Map<string, string>(),
): T | undefined {
  // reportInput: messages quote the value the user wrote.
  const result = schema.safeParse(file.value, { reportInput: true });
  if (result.success) return result.data;
  const secret = (path: readonly PropertyKey[]) => secretOf.get(String(path[0]));
  for (const issue of zodIssueMessages(result.error.issues, (path) => secret(path) !== undefined)) {
    const from = secret(issue.path);
    const source = from ? ` (from secret "${from}" in secrets.json)` : '';
    issues.add(file.label, jsonPath(issue.path), issue.message + source);
  }
  return undefined;
}

/** `device:interface`; no spaces or control characters (the names are printed in plans and messages). */
export function parseEndpoint(text: string): Endpoint | undefined {
  const m = /^([^:\s\0-\x1f\x7f]+):([^:\s\0-\x1f\x7f]+)$/.exec(text);
  return m ? { device: m[1]!, iface: m[2]! } : undefined;
}

const endpointKey = (e: Endpoint) => `${e.device}:${e.iface}`;

/** Lab name: explicit setting, then topology `name`, then the directory (its parent when it is called `specs`). */
function labName(dir: string, topology: Topology, settings: LabSettings): string {
  if (settings.name) return settings.name;
  if (topology.name) return topology.name;
  const base = basename(dir);
  return base === 'specs' ? basename(dirname(dir)) : base;
}

function collectLinks(topology: Topology, issues: IssueList): LinkSpec[] {
  const devices = topology.devices;
  const known = Object.keys(devices);
  const links: LinkSpec[] = [];

  // Interface-level declarations: devices.X.interfaces.Y.link
  const declared = new Map<string, { peer: string; path: string }>();
  for (const [dev, body] of Object.entries(devices)) {
    for (const [iface, ifBody] of Object.entries(body?.interfaces ?? {})) {
      if (ifBody?.link)
        declared.set(`${dev}:${iface}`, {
          peer: ifBody.link,
          path: jsonPath(['devices', dev, 'interfaces', iface, 'link']),
        });
    }
  }

  const checkEndpoint = (text: string, path: string): Endpoint | undefined => {
    const ep = parseEndpoint(text);
    if (!ep) {
      const hint = 'write it as "device:interface", e.g. "spine1:Ethernet0"';
      issues.add(TOPOLOGY, path, `${JSON.stringify(text)} is not an endpoint`, hint);
      return undefined;
    }
    if (!(ep.device in devices)) {
      issues.add(
        TOPOLOGY,
        path,
        `unknown device "${ep.device}"`,
        `use one of: ${known.join(', ')}, or add "${ep.device}" to devices`,
      );
      return undefined;
    }
    return ep;
  };

  if (topology.links) {
    topology.links.forEach((l, i) => {
      const a = checkEndpoint(l.a, `links[${i}].a`);
      const z = checkEndpoint(l.z, `links[${i}].z`);
      if (a && z) links.push({ index: i, a, z, file: TOPOLOGY, path: `links[${i}]` });
    });
    // Interface-level links must agree with the array.
    const inArray = new Map<string, string>();
    for (const l of links) {
      inArray.set(endpointKey(l.a), endpointKey(l.z));
      inArray.set(endpointKey(l.z), endpointKey(l.a));
    }
    for (const [ep, { peer, path }] of declared) {
      const expected = inArray.get(ep);
      if (expected === undefined) {
        issues.add(
          TOPOLOGY,
          path,
          `says ${ep} links to ${peer}, but no entry in "links" wires ${ep}`,
          `add {"a": "${ep}", "z": "${peer}"} to links, or remove this "link" field`,
        );
      } else if (expected !== peer) {
        issues.add(
          TOPOLOGY,
          path,
          `says ${ep} links to ${peer}, but "links" wires it to ${expected}`,
          'make the two agree',
        );
      }
    }
  } else {
    // No links array: derive links from interface declarations, first side seen is A.
    const seen = new Set<string>();
    for (const [ep, { peer, path }] of declared) {
      if (seen.has(ep)) continue;
      const a = parseEndpoint(ep)!;
      const z = checkEndpoint(peer, path);
      if (!z) continue;
      const back = declared.get(endpointKey(z));
      if (back && back.peer !== ep) {
        issues.add(
          TOPOLOGY,
          back.path,
          `says ${endpointKey(z)} links to ${back.peer}, but ${ep} links to ${endpointKey(z)}`,
          'make both ends name each other',
        );
        continue;
      }
      seen.add(ep);
      seen.add(endpointKey(z));
      links.push({ index: links.length, a, z, file: TOPOLOGY, path });
    }
  }

  // Each endpoint once; no device linked to itself.
  const used = new Map<string, string>();
  for (const l of links) {
    if (l.a.device === l.z.device) {
      issues.add(
        l.file,
        l.path,
        `links ${l.a.device} to itself (${endpointKey(l.a)} ↔ ${endpointKey(l.z)})`,
        'connect two different devices; a loopback cable is not supported',
      );
    }
    for (const [side, ep] of [
      ['a', l.a],
      ['z', l.z],
    ] as const) {
      const key = endpointKey(ep);
      const prev = used.get(key);
      const here = topology.links ? `${l.path}.${side}` : l.path;
      if (prev)
        issues.add(
          l.file,
          here,
          `interface ${key} is already used by ${prev}`,
          'an interface takes one link; pick another interface',
        );
      else used.set(key, here);
    }
  }
  return links;
}

/**
 * `${secret:name}` in a profile's top-level strings, replaced before the
 * profile is validated: a secret's value is checked like any other (an
 * ssh_user from secrets.json reaches ssh_config all the same). An undefined
 * secret is reported and its field left out.
 */
function resolveSecrets(
  raw: unknown,
  secrets: Record<string, unknown> | undefined,
  label: string,
  issues: IssueList,
): { value: unknown; secretOf: Map<string, string> } {
  const secretOf = new Map<string, string>();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { value: raw, secretOf };
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(raw)) {
    const m = typeof value === 'string' ? /^\$\{secret:([^}]+)\}$/.exec(value) : null;
    if (!m) continue;
    const secret = secrets?.[m[1]!];
    if (typeof secret === 'string') {
      out[key] = secret;
      secretOf.set(key, m[1]!);
    } else {
      delete out[key];
      issues.add(label, key, `secret "${m[1]}" is not defined`, `add "${m[1]}" to secrets.json in the spec directory`);
    }
  }
  return { value: out, secretOf };
}

/**
 * Load, validate and cross-check a spec directory. Every problem is
 * collected and thrown together as one SpecError.
 */
export function loadSpec(specDir: string): Spec {
  const dir = resolve(specDir);
  if (!existsSync(dir)) {
    throw new SpecError([
      {
        file: specDir,
        path: '',
        message: 'spec directory not found',
        hint: 'pass the directory that holds topology.json with -S',
      },
    ]);
  }
  const issues = new IssueList();
  const warnings: string[] = [];

  const topoFile = readJsonFile(join(dir, TOPOLOGY), TOPOLOGY);
  const topology = validate(topologySchema, topoFile, issues);
  issues.throwIfAny();
  const topo = topology!;

  const settingsKey = topo.vmlab ? 'vmlab' : topo.newtlab ? 'newtlab' : 'vmlab';
  if (topo.vmlab && topo.newtlab) warnings.push('topology.json has both "vmlab" and "newtlab" sections: using "vmlab"');
  const settings: LabSettings = topo.vmlab ?? topo.newtlab ?? {};

  const devices = Object.keys(topo.devices);
  if (devices.length === 0) issues.add(TOPOLOGY, 'devices', 'no devices', 'add at least one device');
  for (const d of devices) {
    if (!isValidName(d)) {
      const message = `device name ${JSON.stringify(d)} is not valid`;
      issues.add(TOPOLOGY, jsonPath(['devices', d]), message, `use ${NAME_RULE}`);
    }
  }
  const name = labName(dir, topo, settings);
  if (!isValidName(name)) {
    const hint = `set "${settingsKey}": {"name": "..."} using ${NAME_RULE}`;
    issues.add(TOPOLOGY, `${settingsKey}.name`, `lab name ${JSON.stringify(name)} is not valid`, hint);
  }
  const links = issues.empty ? collectLinks(topo, issues) : [];
  const hosts = parseHosts(settings.hosts, settingsKey, TOPOLOGY, issues);

  let platforms: Record<string, Platform> = {};
  if (existsSync(join(dir, PLATFORMS))) {
    const pf = validate(platformsFileSchema, readJsonFile(join(dir, PLATFORMS), PLATFORMS), issues);
    platforms = pf?.platforms ?? {};
  }

  let secrets: Record<string, unknown> | undefined;
  if (existsSync(join(dir, 'secrets.json'))) {
    const s = readJsonFile(join(dir, 'secrets.json'), 'secrets.json').value;
    if (s && typeof s === 'object' && !Array.isArray(s)) secrets = s as Record<string, unknown>;
    else issues.add('secrets.json', '', 'expected an object of name → value');
  }

  const profiles: Record<string, ProfileFile> = {};
  const profileDir = join(dir, 'profiles');
  const present = existsSync(profileDir) ? new Set(readdirSync(profileDir)) : new Set<string>();
  for (const d of devices) {
    if (!present.has(`${d}.json`)) continue;
    const label = `profiles/${d}.json`;
    const file = readJsonFile(join(profileDir, `${d}.json`), label);
    const { value, secretOf } = resolveSecrets(file.value, secrets, label, issues);
    const data = validate(profileSchema, { ...file, value }, issues, secretOf);
    if (data) profiles[d] = { path: file.path, label, text: file.text, data };
  }

  issues.throwIfAny();
  const listedInterfaces = Object.fromEntries(devices.map((d) => [d, Object.keys(topo.devices[d]?.interfaces ?? {})]));
  return { dir, name, settings, settingsKey, devices, listedInterfaces, links, platforms, profiles, hosts, warnings };
}
