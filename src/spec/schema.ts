import { z } from 'zod';

/*
 * The spec files are shared with other tools (newtron): every object is
 * loose, so fields vmlab does not use pass through untouched.
 */

const port = z.number().int().min(1).max(65535);
const positiveInt = z.number().int().positive();

/** The `vmlab` (or legacy `newtlab`) section of topology.json. */
export const labSettingsSchema = z.looseObject({
  name: z.string().optional(),
  link_port_base: port.optional(),
  console_port_base: port.optional(),
  ssh_port_base: port.optional(),
  link_transport: z.enum(['tcp', 'udp']).optional(),
  /** Every node's management NIC may open connections out (a profile or platform `vm_mgmt_egress` wins). */
  mgmt_egress: z.boolean().optional(),
  /** Multi-host: name → "address", "user@address" or {address, listen} (checked in spec/hosts). */
  hosts: z.record(z.string(), z.union([z.string(), z.looseObject({ address: z.string(), listen: z.string().optional() })])).optional(),
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
  vm_image: z.string().optional(),
  vm_memory: positiveInt.optional(),
  vm_cpus: positiveInt.optional(),
  // These reach QEMU's option parser: no commas or '=' smuggled in.
  vm_nic_driver: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'a QEMU device name such as e1000 or virtio-net-pci')
    .optional(),
  vm_cpu_features: z
    .string()
    .regex(/^([+-]?[A-Za-z0-9_.-]+(,[+-]?[A-Za-z0-9_.-]+)*)?$/, 'comma-separated CPU flags such as +sse4.2')
    .optional(),
  vm_cpu_model: z.string().regex(/^[A-Za-z0-9_.-]*$/, 'a QEMU CPU model such as max or Haswell').optional(),
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
  device_type: z.string().optional(),
  vm_credentials: z.looseObject({ user: z.string().optional(), pass: z.string().optional() }).optional(),
});

export const platformsFileSchema = z.looseObject({
  platforms: z.record(z.string(), platformSchema),
});

export const profileSchema = z.looseObject({
  ...vmFields,
  platform: z.string().optional(),
  ssh_user: z.string().optional(),
  ssh_pass: z.string().optional(),
  vm_host: z.string().optional(),
  /** Extra cloud-init for nodes on cloud images. */
  cloud_init: z
    .looseObject({
      packages: z.array(z.string()).optional(),
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
