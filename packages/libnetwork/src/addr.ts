/**
 * Address helpers in the plugin's terms (strings in, `undefined`/`false` for anything malformed,
 * never a throw: Docker sends what users typed), over @tsnet/dataplane's CIDR arithmetic so the
 * plugin, the agent and the dataplane agree on every prefix.
 */
import { isIP } from 'node:net';
import { canonicalCidr as dataplaneCanonical, contains, parseCidr } from '@tsnet/dataplane';

/** `10.0.0.5/32` → `10.0.0.5`; a bare address is returned as it is. */
export function stripPrefix(addr: string): string {
  const slash = addr.indexOf('/');
  return slash < 0 ? addr : addr.slice(0, slash);
}

export function familyOf(ip: string): 4 | 6 | 0 {
  return isIP(stripPrefix(ip)) as 4 | 6 | 0;
}

/** True when `ip` lies inside `cidr` (same family); false for malformed input. */
export function cidrContains(cidr: string, ip: string): boolean {
  try {
    return contains(parseCidr(cidr), stripPrefix(ip));
  } catch {
    return false;
  }
}

/** Canonical form of a CIDR for comparison: network address, lower-case, `/len` always present. */
export function canonicalCidr(cidr: string): string | undefined {
  const text = cidr.trim();
  if (familyOf(text) === 0) return undefined;
  try {
    return dataplaneCanonical(text);
  } catch {
    return undefined;
  }
}
