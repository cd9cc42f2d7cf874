import { availableParallelism } from 'node:os';
import type { Accel } from '../../plan/labPlan.js';

/**
 * How many nodes boot at once when the user does not say. Under TCG every
 * booting guest wants a whole core (16 at once on 2 cores took longer than
 * waves, and left the lab unusable when "ready"); under KVM a boot is
 * mostly waiting on I/O, so more fit.
 */
export function defaultMaxParallel(accel: Accel, cores = availableParallelism()): number {
  return Math.max(1, accel === 'kvm' ? cores * 2 : cores);
}

export interface BootNode {
  name: string;
  /** Nodes whose listening sockets must be up before this one starts. */
  after: string[];
}

export interface BootHooks {
  /** Start the node's QEMU; a throw stops the schedule (what is booting is waited for, then it rethrows). */
  start(name: string): Promise<void>;
  /** Wait until the node is usable or has failed; never throws. */
  ready(name: string): Promise<void>;
  /** Called as each node starts: for progress output. */
  starting?(name: string, at: { index: number; wave: number; waves: number; booting: number }): void;
}

/**
 * Boot nodes in start order with at most `limit` booting at once: a node
 * holds its slot from its start until it is ready (or failed). Listeners
 * still come first: a node starts only after the nodes in its `after` list
 * have started (the start order already puts them earlier). Waves are the
 * start order cut into groups of `limit`, for the progress output; slots
 * are freed one by one, so a wave starts as soon as a slot frees.
 * `stop` aborted: nothing more starts, what was started is waited for.
 */
export async function scheduleBoots(
  nodes: BootNode[],
  order: string[],
  limit: number,
  hooks: BootHooks,
  stop?: AbortSignal,
): Promise<void> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const started = new Map<string, Promise<void>>();
  const booting = new Set<Promise<void>>();
  const waves = Math.ceil(order.length / limit);
  let failure: { error: unknown } | undefined;
  for (const [index, name] of order.entries()) {
    while (booting.size >= limit && !stop?.aborted) await Promise.race(booting);
    if (stop?.aborted || failure) break;
    try {
      await Promise.all(byName.get(name)!.after.map((d) => started.get(d)));
      hooks.starting?.(name, { index, wave: Math.floor(index / limit) + 1, waves, booting: booting.size + 1 });
      const start = hooks.start(name);
      started.set(name, start);
      await start;
    } catch (error) {
      failure = { error };
      break;
    }
    const slot: Promise<void> = hooks.ready(name).finally(() => booting.delete(slot));
    booting.add(slot);
  }
  await Promise.all(booting);
  if (failure) throw failure.error;
}
