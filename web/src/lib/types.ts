/** What the API answers (src/api/schemas.ts), as the UI reads it. */

export interface Job {
  id: string;
  kind: string;
  target: string | null;
  params: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  detail: string;
  log: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Image {
  id: string;
  name: string;
  kind: string;
  format: string | null;
  virtual_size: number | null;
  actual_size: number | null;
  sha256: string | null;
  os_distro: string | null;
  os_version: string | null;
  os_arch: string | null;
  default_user: string | null;
  /** JSON text: the detected network device (see lib/netDevice.ts). */
  net_device: string | null;
  /** docker entries: the image reference, its device and version, the disk it was built from (id), 1 if default for its device. */
  reference: string | null;
  device: string | null;
  version: string | null;
  built_from: string | null;
  is_default: number;
  checkpoint: string | null;
  source_type: string;
  source: string;
  status: 'pending' | 'downloading' | 'verifying' | 'converting' | 'ready' | 'failed';
  error: string | null;
}

export interface ImageDetail extends Image {
  used_by: string[];
}

export interface CatalogEntry {
  id: string;
  name: string;
  distro: string;
  version: string;
  arch: string;
  url: string;
  checksum?: { url: string; style: string };
  format: string;
  defaultUser: string;
  cloudInit: boolean;
  firmware?: string;
}

export interface LabNode {
  node: string;
  status: string;
  pid: number | null;
  mgmt_ip: string | null;
  ssh_port: number | null;
  console_port: number | null;
  platform: string | null;
  image: string | null;
  accel: string | null;
  /** What the node's QEMU costs the host now. */
  rss_bytes: number | null;
  cpu_seconds: number | null;
  error?: string;
}

export interface Lab {
  name: string;
  status: 'deploying' | 'running' | 'failed' | 'interrupted' | 'state-lost' | 'unreadable';
  hint?: string;
  spec_dir: string | null;
  created: string | null;
  accel: string | null;
  nodes: LabNode[];
  links: Array<{ a: string; z: string; port: number; z_port?: number; transport: string }>;
}
