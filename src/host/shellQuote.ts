/** Quote one argument for a POSIX shell: the remote shell of `vmlab ssh`, or a command line shown to a person. */
export const shellQuote = (arg: string) =>
  /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
