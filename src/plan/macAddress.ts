import { createHash } from 'node:crypto';

/**
 * Deterministic MAC for (lab, node, NIC): QEMU's 52:54:00 prefix and three
 * bytes of a hash, so a redeploy gives every NIC the same address.
 * `taken` makes the result unique within a lab: on a clash the next salt is tried.
 */
export function macAddress(lab: string, node: string, nic: number, taken: Set<string>): string {
  for (let salt = 0; ; salt++) {
    const h = createHash('sha256')
      .update(`${lab}/${node}/${nic}${salt ? `#${salt}` : ''}`)
      .digest();
    const mac = `52:54:00:${[h[0], h[1], h[2]].map((b) => b!.toString(16).padStart(2, '0')).join(':')}`;
    if (!taken.has(mac)) {
      taken.add(mac);
      return mac;
    }
  }
}
