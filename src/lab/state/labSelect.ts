import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { labDir, labFiles, vmlabRoot } from '../../plan/labFiles.js';
import { loadSpec } from '../../spec/loadSpec.js';
import { isValidName, NAME_RULE } from '../../spec/names.js';
import { LabError } from '../labError.js';
import { readState, type LabState } from './labState.js';
import { discoverLabs } from './labScan.js';
import type { LabRef } from './labRef.js';

export const stateRoot = (env: NodeJS.ProcessEnv) => vmlabRoot(env, homedir());

export type { LabRef } from './labRef.js';

/**
 * Which lab a command means: named with --lab/positional, taken from -S,
 * or the only one deployed. Several deployed and none named is an error
 * that lists them.
 */
export function selectLab(opts: { lab?: string; specDir?: string }, env: NodeJS.ProcessEnv): LabRef;
export function selectLab(
  opts: { lab?: string; specDir?: string; optional: true },
  env: NodeJS.ProcessEnv,
): LabRef | undefined;
export function selectLab(
  opts: { lab?: string; specDir?: string; optional?: boolean },
  env: NodeJS.ProcessEnv,
): LabRef | undefined {
  const root = stateRoot(env);
  let name = opts.lab;
  if (!name && opts.specDir) name = loadSpec(opts.specDir).name;
  if (name) {
    if (!isValidName(name))
      throw new LabError('invalid_name', `"${name}" is not a valid lab name`, { hint: `use ${NAME_RULE}` });
    return { name, dir: labDir(root, name) };
  }
  const labs = discoverLabs(root);
  if (labs.length === 1) return { name: labs[0]!, dir: labDir(root, labs[0]!) };
  if (labs.length === 0 && opts.optional) return undefined;
  if (labs.length === 0)
    throw new LabError('lab_not_found', 'no lab is deployed', { hint: 'deploy one: vmlab deploy -S <spec dir>' });
  throw new LabError('lab_ambiguous', `${labs.length} labs are deployed (${labs.join(', ')}): which one?`, {
    hint: `name it before the command: vmlab --lab ${labs[0]} … (or -S <spec dir> after it)`,
  });
}

export function loadLab(ref: LabRef): LabState {
  const files = labFiles(ref.dir);
  if (!existsSync(files.state))
    throw new LabError('lab_not_found', `lab "${ref.name}" is not deployed`, {
      hint: 'see deployed labs with: vmlab status',
    });
  return readState(files.state);
}

export function nodeOf(state: LabState, node: string) {
  const plan = state.plan.nodes.find((n) => n.name === node);
  if (!plan) {
    throw new LabError('node_not_found', `lab "${state.name}" has no node "${node}"`, {
      hint: `nodes: ${state.plan.nodes.map((n) => n.name).join(', ')}`,
    });
  }
  return plan;
}
