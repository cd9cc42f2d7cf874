/* Kept while the #21 branches merge: callers move to host/subprocess.ts, then this file goes. */
export { run, type RunResult } from '../host/subprocess.js';

/** Last `n` non-empty lines of a text. */
export const tailLines = (text: string, n: number) => text.split('\n').filter((l) => l.trim()).slice(-n).join('\n');
