import { VmlabError, type ErrorKind, type ErrorOptions } from '../errors/vmlabError.js';

/**
 * A build that cannot start or did not finish, as data. `code` is what the
 * front doors and tests branch on; the message names the file, directory or
 * tool, and `hint` the next step.
 */
export type BuildErrorCode =
  | 'image_not_found'
  | 'not_buildable' // no vrnetlab family, or vrnetlab cannot build it (reason given)
  | 'no_checkout' // no vrnetlab checkout where configured
  | 'device_dir_missing'
  | 'make_missing'
  | 'docker_missing'
  | 'docker_unreachable'
  | 'kvm_required'
  | 'wrong_format'
  | 'copy_exists'
  | 'make_failed'
  | 'timed_out'
  | 'no_tag'
  | 'image_missing'
  | 'docker_rm_failed'
  | 'cancelled';

export const BUILD_ERROR_KIND: Record<BuildErrorCode, ErrorKind> = {
  image_not_found: 'not_found',
  not_buildable: 'input',
  no_checkout: 'input',
  device_dir_missing: 'input',
  make_missing: 'failure',
  docker_missing: 'failure',
  docker_unreachable: 'failure',
  kvm_required: 'conflict',
  wrong_format: 'input',
  copy_exists: 'conflict',
  make_failed: 'failure',
  timed_out: 'failure',
  no_tag: 'failure',
  image_missing: 'failure',
  docker_rm_failed: 'failure',
  cancelled: 'failure',
};

export class BuildError extends VmlabError {
  declare readonly code: BuildErrorCode;
  constructor(code: BuildErrorCode, message: string, opts: ErrorOptions = {}) {
    super(code, message, { ...opts, kind: opts.kind ?? BUILD_ERROR_KIND[code] });
  }
}
