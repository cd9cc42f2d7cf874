/** Names that become file names, QEMU ids and ssh_config hosts. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const NAME_RULE =
  'letters, digits, "_", "." and "-" only (no spaces or slashes), at most 64 characters, not "." or ".."';

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name) && name.length <= 64 && name !== '.' && name !== '..';
}

/** A bare name (no "/", no ".") means the store, as lima and docker tell a name from a path. */
export const isStoreName = (arg: string) => isValidName(arg) && !/[./]/.test(arg);

/*
 * A login name reaches ssh_config (`User …`), ssh's argv, cloud-init's
 * `users` and sudo: the portable POSIX user name (what useradd takes by
 * default), so never a leading '-' (an ssh option), whitespace, a quote,
 * a '%' (an ssh_config token) or a newline (a second ssh_config line).
 */
export const USER_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
export const USER_RULE = 'a user name: a letter or "_", then letters, digits, "_", "." or "-", at most 32 characters';

export const isValidUser = (user: string) => USER_PATTERN.test(user);
