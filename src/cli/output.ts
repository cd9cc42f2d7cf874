import { settings } from './services.js';

/** Colours only on a terminal, and never with NO_COLOR set (no-color.org). */
const useColor = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && colorSetting();

/** A malformed environment is reported too: in plain text, since the settings that say "colour" did not load. */
function colorSetting(): boolean {
  try {
    return settings().color;
  } catch {
    return false;
  }
}

const paint = (code: string, stream: NodeJS.WriteStream) => (s: string) =>
  useColor(stream) ? `\x1b[${code}m${s}\x1b[0m` : s;

/** Lines from other hosts (already prefixed): their stdout to ours, their stderr to ours. */
export const lineSinks = {
  stdout: (line: string) => void process.stdout.write(line + '\n'),
  stderr: (line: string) => void process.stderr.write(line + '\n'),
};

export const style = {
  bold: paint('1', process.stdout),
  dim: paint('2', process.stdout),
  green: paint('32', process.stdout),
  yellow: paint('33', process.stdout),
  red: paint('31', process.stdout),
  errRed: paint('31', process.stderr),
  errYellow: paint('33', process.stderr),
  errDim: paint('2', process.stderr),
};

/** Left-aligned columns; the header row is bold. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [style.bold(line(header)), ...rows.map(line)].join('\n');
}

export const printJson = (value: unknown): void => {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
};

export const statusColor = (s: string) =>
  s === 'running' ? style.green(s) : ['stopped', 'starting', 'deploying'].includes(s) ? style.yellow(s) : style.red(s);
