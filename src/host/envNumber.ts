import { VmlabError } from '../errors/vmlabError.js';

/** A whole-number setting from the environment: undefined when unset, a clear input error when malformed. */
export function envWholeNumber(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) {
    throw new VmlabError('bad_environment', `${name}=${JSON.stringify(v)}: expected a whole number ≥ ${min}`, { kind: 'input', hint: `fix or unset ${name}` });
  }
  return Number(v);
}
