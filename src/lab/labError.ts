import { VmlabError, type ErrorKind, type ErrorOptions } from '../errors/vmlabError.js';

/** What failed in the lab engine, as callers and clients branch on it (grouped by kind). */
export type LabErrorCode =
  | 'invalid_name'
  | 'invalid_path'
  | 'lab_ambiguous'
  | 'no_hosts'
  | 'snapshot_archive_invalid'
  | 'snapshot_archive_unsafe'
  | 'unknown_kind'
  | 'unsafe_ssh_config'
  | 'unsafe_ssh_user'
  | 'wrong_host'
  | 'job_not_found'
  | 'lab_not_found'
  | 'node_not_found'
  | 'snapshot_not_found'
  | 'checkpoint_mismatch'
  | 'console_busy'
  | 'image_differs'
  | 'insufficient_memory'
  | 'job_not_active'
  | 'lab_exists'
  | 'lab_interrupted'
  | 'node_not_running'
  | 'node_running'
  | 'snapshot_disk_only'
  | 'snapshot_exists'
  | 'snapshot_mismatch'
  | 'cancelled'
  | 'checkpoint_failed'
  | 'checkpoint_identity_failed'
  | 'console_unreachable'
  | 'disk_missing'
  | 'export_failed'
  | 'export_write_failed'
  | 'host_failed'
  | 'host_unreachable'
  | 'image_copy_failed'
  | 'image_missing'
  | 'kvm_crashed'
  | 'lab_state_lost'
  | 'node_not_ready'
  | 'nodes_not_ready'
  | 'peer_not_listening'
  | 'ports_in_use'
  | 'restore_failed'
  | 'restore_not_ready'
  | 'snapshot_delete_failed'
  | 'snapshot_failed'
  | 'snapshot_missing'
  | 'state_unreadable'
  | 'unpack_write_failed';

/** The kind of each code: it decides the exit code and HTTP status (input and not_found: exit 2). */
export const LAB_ERROR_KIND: Record<LabErrorCode, ErrorKind> = {
  invalid_name: 'input',
  invalid_path: 'input',
  lab_ambiguous: 'input',
  no_hosts: 'input',
  snapshot_archive_invalid: 'input',
  snapshot_archive_unsafe: 'input',
  unknown_kind: 'input',
  unsafe_ssh_config: 'input',
  unsafe_ssh_user: 'input',
  wrong_host: 'input',
  job_not_found: 'not_found',
  lab_not_found: 'not_found',
  node_not_found: 'not_found',
  snapshot_not_found: 'not_found',
  checkpoint_mismatch: 'conflict',
  console_busy: 'conflict',
  image_differs: 'conflict',
  insufficient_memory: 'conflict',
  job_not_active: 'conflict',
  lab_exists: 'conflict',
  lab_interrupted: 'conflict',
  node_not_running: 'conflict',
  node_running: 'conflict',
  snapshot_disk_only: 'conflict',
  snapshot_exists: 'conflict',
  snapshot_mismatch: 'conflict',
  cancelled: 'failure',
  checkpoint_failed: 'failure',
  checkpoint_identity_failed: 'failure',
  console_unreachable: 'failure',
  disk_missing: 'failure',
  export_failed: 'failure',
  export_write_failed: 'failure',
  host_failed: 'failure',
  host_unreachable: 'failure',
  image_copy_failed: 'failure',
  image_missing: 'failure',
  kvm_crashed: 'failure',
  lab_state_lost: 'failure',
  node_not_ready: 'failure',
  nodes_not_ready: 'failure',
  peer_not_listening: 'failure',
  ports_in_use: 'failure',
  restore_failed: 'failure',
  restore_not_ready: 'failure',
  snapshot_delete_failed: 'failure',
  snapshot_failed: 'failure',
  snapshot_missing: 'failure',
  state_unreadable: 'failure',
  unpack_write_failed: 'failure',
};

/** A failure of the lab engine with what to do next; no default code: each throw names what failed. */
export class LabError extends VmlabError {
  declare readonly code: LabErrorCode;
  constructor(code: LabErrorCode, message: string, opts: ErrorOptions = {}) {
    super(code, message, { ...opts, kind: opts.kind ?? LAB_ERROR_KIND[code] });
  }
}
