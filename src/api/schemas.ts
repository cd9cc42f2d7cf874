import { z } from 'zod';

/*
 * What the API says, as zod schemas: they validate requests, shape (and
 * whitelist) responses, and are the OpenAPI document. Named ones are
 * registered so the document refers to them as components.
 */

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('stable code to branch on (never the message text)'),
      message: z.string(),
      hint: z.string().optional().describe('the next step'),
      details: z.unknown().optional().describe('for 422: [{ in, path, message }] with JSON paths'),
    }),
  })
  .meta({ id: 'Error' });

export const JobRecord = z
  .object({
    id: z.string(),
    kind: z.string(),
    target: z.string().nullable(),
    params: z.string().describe('JSON text'),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    progress: z.number().describe('0 … 1'),
    detail: z.string().describe('JSON text: bytes, total, bytesPerSec, etaSec for transfers'),
    log: z.string(),
    error: z.string().nullable(),
    cancel_requested: z.number(),
    pid: z.number().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'Job' });

export const ImageRecord = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    format: z.string().nullable(),
    virtual_size: z.number().nullable(),
    actual_size: z.number().nullable(),
    sha256: z.string().nullable(),
    os_family: z.string().nullable(),
    os_distro: z.string().nullable(),
    os_version: z.string().nullable(),
    os_arch: z.string().nullable(),
    default_user: z.string().nullable(),
    cloud_init: z.number(),
    net_device: z
      .string()
      .nullable()
      .describe('JSON text: detected network device (device, vrnetlab dir, tag, or why it cannot be built)'),
    reference: z.string().nullable().describe('docker images: the image reference'),
    device: z.string().nullable().describe('network device id'),
    version: z.string().nullable(),
    built_from: z.string().nullable().describe('docker images: id of the disk image it was built from'),
    is_default: z.number().describe('docker images: 1 for the default image of its device'),
    checkpoint: z
      .string()
      .nullable()
      .describe(
        'JSON text: a booted node saved with `vmlab images checkpoint` ' +
          '(accelerator, machine, QEMU, devices, base image); labs start from it warm',
      ),
    source_type: z.string(),
    source: z.string(),
    path: z.string().nullable(),
    status: z.enum(['pending', 'downloading', 'verifying', 'converting', 'ready', 'failed']),
    error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Image' });

export const ImageDetail = ImageRecord.extend({
  used_by: z.array(z.string()).describe('labs whose nodes run on it'),
}).meta({ id: 'ImageDetail' });

export const CatalogEntry = z
  .object({
    id: z.string(),
    name: z.string(),
    distro: z.string(),
    version: z.string(),
    arch: z.string(),
    url: z.string(),
    checksum: z
      .object({ url: z.string(), style: z.string() })
      .optional()
      .describe('where the digest comes from: a pull is verified against it'),
    format: z.string(),
    defaultUser: z.string(),
    cloudInit: z.boolean(),
    firmware: z.string().optional(),
  })
  .meta({ id: 'CatalogEntry' });

export const NodeRow = z
  .object({
    node: z.string(),
    status: z.string().describe('running, paused, crashed, panicked, shut down, exited, stopped, failed, starting'),
    pid: z.number().nullable(),
    mgmt_ip: z.string().nullable(),
    ssh_port: z.number().nullable(),
    console_port: z
      .number()
      .nullable()
      .describe('TCP console on 127.0.0.1, only in a lab with console_tcp (open to every local user)'),
    console_socket: z
      .string()
      .nullable()
      .describe(
        "the serial console's unix socket, only the lab's owner can open (the console WebSocket goes through it)",
      ),
    platform: z.string().nullable(),
    image: z.string().nullable(),
    accel: z.string().nullable(),
    rss_bytes: z.number().nullable().describe("the QEMU process's resident memory (null when not running)"),
    cpu_seconds: z.number().nullable().describe('CPU time the QEMU process has used so far, user + system'),
    error: z.string().optional(),
    host: z.string().optional().describe('multi-host: the vmlab.hosts entry the node runs on'),
  })
  .meta({ id: 'Node' });

export const LabReport = z
  .object({
    name: z.string(),
    status: z.enum(['deploying', 'running', 'failed', 'interrupted', 'state-lost', 'unreadable']),
    hint: z.string().optional(),
    spec_dir: z.string().nullable(),
    created: z.string().nullable(),
    accel: z.string().nullable(),
    nodes: z.array(NodeRow),
    links: z.array(
      z.object({
        a: z.string(),
        z: z.string(),
        port: z.number().describe('allocated by the port rules; used only when socket is "inet"'),
        z_port: z.number().optional(),
        transport: z.string(),
        socket: z
          .enum(['unix', 'inet'])
          .describe("unix: a link on one host, over sockets in the lab's private qemu/ dir"),
      }),
    ),
  })
  .meta({ id: 'Lab' });

export const SnapshotRecord = z
  .object({
    name: z.string(),
    created: z.string(),
    kind: z
      .enum(['full', 'disk-only'])
      .describe('full: RAM, devices and disks of running nodes; disk-only: disks of stopped nodes'),
    accel: z.string(),
    machine: z.string(),
    qemu_version: z.string(),
    nodes: z.record(
      z.string(),
      z.object({
        memory_mb: z.number(),
        cpus: z.number(),
        cpu: z.string(),
        machine: z.string(),
        nic_driver: z.string(),
        disk_bus: z.string(),
        nics: z.array(z.object({ index: z.number(), mac: z.string() })),
        disks: z.array(z.string()),
        accel: z.string(),
        qemu_version: z.string(),
        vm_state_bytes: z.number(),
        overlay_bytes: z.number(),
      }),
    ),
    links: z.array(
      z.object({
        a: z.string(),
        z: z.string(),
        transport: z.string(),
        port: z.number(),
        z_port: z.number().optional(),
      }),
    ),
    took_ms: z.number().describe('how long the lab was paused (full) or the snapshot took (disk-only)'),
  })
  .meta({ id: 'Snapshot' });

export const JobAccepted = z.object({ job_id: z.string() }).meta({ id: 'JobAccepted' });

/** Names of images, labs, nodes as they appear in a URL. */
export const Name = z.string().min(1).max(200);

/** The error responses a route can give, by status, for its schema. */
export function errors(
  ...statuses: Array<400 | 401 | 403 | 404 | 409 | 413 | 422 | 500>
): Record<number, typeof ErrorBody> {
  return Object.fromEntries([401, 500, ...statuses].map((s) => [s, ErrorBody]));
}
