/**
 * The address arithmetic the controller needs (containment, same-subnet, VTEP MACs), in the
 * agent's vocabulary ('ipv4' | 'ipv6', network as a bigint) over @tsnet/dataplane's helpers, so
 * the agent and the dataplane agree on every prefix. Pure.
 */
import { bigToIp, contains, ipToBig, parseCidr as parseDataplaneCidr, familyOf as dataplaneFamily } from '@tsnet/dataplane';

export { vtepMacFor } from '@tsnet/dataplane';

export interface Cidr {
  family: 'ipv4' | 'ipv6';
  /** network address as a number (host bits cleared) */
  net: bigint;
  len: number;
  bits: 32 | 128;
}

const toFamily = (f: 4 | 6): 'ipv4' | 'ipv6' => (f === 4 ? 'ipv4' : 'ipv6');

export const ipToBigint = (ip: string): bigint => ipToBig(ip);
export const bigintToIp = (n: bigint, family: 'ipv4' | 'ipv6'): string => bigToIp(n, family === 'ipv4' ? 4 : 6);

export function parseCidr(text: string): Cidr {
  const c = parseDataplaneCidr(text);
  return { family: toFamily(c.family), net: c.addr, len: c.len, bits: c.family === 4 ? 32 : 128 };
}

export const formatCidr = (c: Cidr): string => `${bigintToIp(c.net, c.family)}/${c.len}`;

const toDataplane = (c: Cidr) => ({
  family: c.family === 'ipv4' ? (4 as const) : (6 as const),
  addr: c.net,
  len: c.len,
  text: formatCidr(c),
});

/** Is `inner` (a prefix or an address) entirely inside `outer`? */
export function cidrContains(outer: string | Cidr, inner: string | Cidr): boolean {
  const o = typeof outer === 'string' ? parseDataplaneCidr(outer) : toDataplane(outer);
  return contains(o, typeof inner === 'string' ? inner : toDataplane(inner));
}

/** Both addresses inside one subnet of the given node's address/len (for cross-subnet modes). */
export function sameSubnet(nodeCidr: string, otherIp: string): boolean {
  return nodeCidr.includes('/') && cidrContains(nodeCidr, otherIp);
}

export const familyOf = (ip: string): 'ipv4' | 'ipv6' => toFamily(dataplaneFamily(ip));

/**
 * Orders strings by code unit: a stable order for what the agent sorts (peers, prefixes, node
 * names). Not localeCompare: its first call loads ICU's collator, ~3 MB RSS per agent, and each
 * comparison is an ICU call.
 */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
