import { z } from 'zod';
import { USER_PATTERN, USER_RULE } from './names.js';

/*
 * The spec files are shared with other tools (newtron): every object is
 * loose, so fields vmlab does not use pass through untouched.
 */

const port = z.number().int().min(1).max(65535);
const positiveInt = z.number().int().positive();

/*
 * Every string that reaches a file, an argv, ssh_config or a cloud-init
 * document is checked here, at load (docs/security.md lists them).
 */
/** ssh_user, vm_credentials.user: see USER_PATTERN ("" is allowed: it counts as unset). */
const userName = z.string().regex(new RegExp(`^(?:${USER_PATTERN.source.slice(1, -1)})?$`), USER_RULE);
/** Passwords go to ssh through the environment (askpass answers one line): no NUL, no line break. */
const password = z
  .string()
  .max(1024)
  .regex(/^[^\0\r\n]*$/, 'a password on one line (no line breaks or NUL)');
/** A path or library name: a file name for qemu-img and QEMU, so no control characters (NUL crashes fs calls). */
const imageRef = z
  .string()
  .max(4096)
  .regex(/^[^\0-\x1f\x7f]*$/, 'a file path or library image name without control characters');
/** Platform names and the like: shown in plans, inventories and graphs, never a file name or argv. */
const label = z
  .string()
  .max(128)
  .regex(/^[^\0-\x1f\x7f]*$/, 'text on one line without control characters');
/**
 * A package for cloud-init to install (apt, dnf, zypper): a name with an
 * optional version, architecture, release or glob, or a dnf @group; never
 * an option (leading '-') or whitespace.
 */
const packageName = z
  .string()
  .regex(
    /^[A-Za-z0-9@][A-Za-z0-9@.+_:=~*/-]{0,199}$/,
    'a package name such as "iperf3", "nginx=1.22.1-9" or "@development-tools" (no spaces, no leading "-")',
  );

/** The `vmlab` (or legacy `newtlab`) section of topology.json. */
export const labSettingsSchema = z.looseObject({
  name: z.string().optional(),
  link_port_base: port.optional(),
  console_port_base: port.optional(),
  ssh_port_base: port.optional(),
  link_transport: z.enum(['tcp', 'udp']).optional(),
  /** Serial consoles on TCP 127.0.0.1:console_port (any local user can attach) instead of a private unix socket. */
  console_tcp: z.boolean().optional(),
  /** Every node's management NIC may open connections out (a profile or platform `vm_mgmt_egress` wins). */
  mgmt_egress: z.boolean().optional(),
  /** Multi-host: name → "address", "user@address" or {address, listen} (checked in spec/hosts). */
  hosts: z
    .record(z.string(), z.union([z.string(), z.looseObject({ address: z.string(), listen: z.string().optional() })]))
    .optional(),
});

export const interfaceSchema = z.looseObject({
  link: z.string().optional(),
});

export const deviceSchema = z.looseObject({
  interfaces: z.record(z.string(), z.union([interfaceSchema, z.null()])).optional(),
});

export const linkSchema = z.looseObject({
  a: z.string(),
  z: z.string(),
});

export const topologySchema = z.looseObject({
  name: z.string().optional(),
  devices: z.record(z.string(), z.union([deviceSchema, z.null()])),
  links: z.array(linkSchema).optional(),
  vmlab: labSettingsSchema.optional(),
  newtlab: labSettingsSchema.optional(),
});

export const interfaceMapSchema = z.enum(['sequential', 'stride-4', 'linux', 'custom']);

/** Fields a profile may override and a platform may set (first non-empty wins). */
const vmFields = {
  vm_image: imageRef.optional(),
  vm_memory: positiveInt.optional(),
  vm_cpus: positiveInt.optional(),
  // These reach QEMU's option parser: no commas or '=' smuggled in, nothing that reads as an option.
  vm_nic_driver: z
    .string()
    .regex(/^(?:[A-Za-z][A-Za-z0-9_-]{0,63})?$/, 'a QEMU device name such as e1000 or virtio-net-pci')
    .optional(),
  vm_cpu_features: z
    .string()
    .max(1024)
    .regex(
      /^(?:[+-]?[A-Za-z0-9][A-Za-z0-9_.-]*(?:,[+-]?[A-Za-z0-9][A-Za-z0-9_.-]*)*)?$/,
      'comma-separated CPU flags such as +sse4.2',
    )
    .optional(),
  vm_cpu_model: z
    .string()
    .regex(/^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$/, 'a QEMU CPU model such as max or Haswell')
    .optional(),
  vm_disk_bus: z.enum(['virtio', 'ide']).optional(),
  vm_boot_timeout: positiveInt.optional(),
  vm_interface_map: interfaceMapSchema.optional(),
  vm_interface_map_custom: z.record(z.string(), z.number().int().min(1).max(64)).optional(),
  /** The guest may open connections through its management NIC (never to host loopback with passt). */
  vm_mgmt_egress: z.boolean().optional(),
};

export const platformSchema = z.looseObject({
  ...vmFields,
  /** newtron's device kind: "host" (a test host) keeps management off eth0, its first data port. */
  device_type: label.optional(),
  vm_credentials: z.looseObject({ user: userName.optional(), pass: password.optional() }).optional(),
});

export const platformsFileSchema = z.looseObject({
  platforms: z.record(label, platformSchema),
});

export const profileSchema = z.looseObject({
  ...vmFields,
  platform: label.optional(),
  ssh_user: userName.optional(),
  ssh_pass: password.optional(),
  vm_host: label.optional(),
  /** Extra cloud-init for nodes on cloud images. */
  cloud_init: z
    .looseObject({
      packages: z.array(packageName).optional(),
      runcmd: z.array(z.union([z.string(), z.array(z.string())])).optional(),
      ssh_import_user_keys: z.boolean().optional(),
    })
    .optional(),
});

export type LabSettings = z.infer<typeof labSettingsSchema>;
export type Topology = z.infer<typeof topologySchema>;
export type Platform = z.infer<typeof platformSchema>;
export type Profile = z.infer<typeof profileSchema>;
export type InterfaceMap = z.infer<typeof interfaceMapSchema>;
