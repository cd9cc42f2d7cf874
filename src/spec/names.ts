/** Names that become file names, QEMU ids and ssh_config hosts. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const NAME_RULE = 'letters, digits, "_", "." and "-" only (no spaces or slashes), at most 64 characters, not "." or ".."';

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name) && name.length <= 64 && name !== '.' && name !== '..';
}
