import type { NodePlan } from '../../plan/labPlan.js';

/** A node that failed a step, with why. */
export interface NodeFailure {
  node: string;
  error: string;
}

export const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** "r1: why; r2: why", as the failures of one step are reported. */
export const failureList = (failed: NodeFailure[]) => failed.map((f) => `${f.node}: ${f.error}`).join('; ');

/** Run `fn` on every node at once; the names that failed with why (never throws). */
export async function onEach(nodes: NodePlan[], fn: (n: NodePlan) => Promise<unknown>): Promise<NodeFailure[]> {
  const r = await Promise.allSettled(nodes.map(fn));
  return r.flatMap((x, i) => (x.status === 'rejected' ? [{ node: nodes[i]!.name, error: errText(x.reason) }] : []));
}
