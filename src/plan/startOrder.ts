/**
 * Listener choice and start order for TCP links. A listens and Z connects
 * (seed §5.1), so Z starts after A. When that would close a cycle (r1
 * listens to r2 on one link and r2 to r1 on another) the link is turned
 * round and a warning says so: a cycle has no valid start order.
 */
export function chooseListeners(
  nodes: string[],
  links: Array<{ a: string; z: string }>,
): { listener: Array<'a' | 'z'>; after: Map<string, Set<string>>; order: string[]; flipped: number[] } {
  const after = new Map<string, Set<string>>(nodes.map((n) => [n, new Set<string>()]));
  const reaches = (from: string, to: string): boolean => {
    // Does `from` (transitively) start after `to`?
    const stack = [from];
    const seen = new Set<string>();
    while (stack.length) {
      const cur = stack.pop()!;
      if (cur === to) return true;
      if (seen.has(cur)) continue;
      seen.add(cur);
      stack.push(...after.get(cur)!);
    }
    return false;
  };
  const listener: Array<'a' | 'z'> = [];
  const flipped: number[] = [];
  links.forEach((l, i) => {
    if (reaches(l.a, l.z)) {
      // A already starts after Z: let Z listen instead.
      listener.push('z');
      flipped.push(i);
      after.get(l.a)!.add(l.z);
    } else {
      listener.push('a');
      after.get(l.z)!.add(l.a);
    }
  });
  // Topological order, ties broken by name order (nodes is sorted).
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < nodes.length) {
    const next = nodes.find((n) => !placed.has(n) && [...after.get(n)!].every((d) => placed.has(d)))!;
    order.push(next);
    placed.add(next);
  }
  return { listener, after, order, flipped };
}
