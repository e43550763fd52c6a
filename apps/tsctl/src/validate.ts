/**
 * Parsers for what users type on the command line: IP addresses, CIDRs and AS numbers. Each
 * returns the canonical value or throws a CliError naming the bad input with an example of good
 * input, so commands reject bad input before they touch the datastore. Address arithmetic is
 * @tsnet/ipam's.
 */
import { canonicalIp, formatCidr, parseCidr, parseIp as parseAddress, type Family } from '@tsnet/ipam';
import { CliError } from './errors.js';

export const ASN_MIN = 1;
export const ASN_MAX = 4294967295;
const EXAMPLE_IP: Record<Family, string> = { 4: '198.51.100.1', 6: 'fd00::1' };

/** An IP address in canonical text form (IPv6 compressed, lower case). */
export function parseIp(text: string, family?: Family, what = 'IP address'): string {
  const ip = parseAddress(text);
  if (!ip || (family !== undefined && ip.family !== family)) {
    const want = family === undefined ? 'an IPv4 or IPv6 address' : `an IPv${family} address`;
    throw new CliError(`invalid ${what} "${text}": expected ${want} such as ${EXAMPLE_IP[family ?? 4]}`);
  }
  return canonicalIp(text)!;
}

/** A network in CIDR notation, canonical; host bits must be zero (the message suggests the network). */
export function parseNetwork(text: string): string {
  const loose = parseCidr(text);
  if (!loose) throw new CliError(`invalid CIDR "${text}": expected a network such as 10.10.0.0/16 or fd00:10::/64`);
  const canonical = formatCidr(loose);
  if (!parseCidr(text, true)) throw new CliError(`invalid CIDR "${text}": host bits are set; did you mean ${canonical}?`);
  return canonical;
}

/** An AS number in 1..4294967295 (4-octet AS, plain notation). */
export function parseAsn(text: string | number): number {
  const s = String(text).trim();
  const n = /^\d{1,10}$/.test(s) ? Number(s) : NaN;
  if (!(n >= ASN_MIN && n <= ASN_MAX)) {
    throw new CliError(`invalid AS number "${text}": must be an integer in ${ASN_MIN}..${ASN_MAX} (e.g. 64512)`);
  }
  return n;
}

/** Orders addresses IPv4 first, then numerically. */
export function compareIps(a: string, b: string): number {
  const x = parseAddress(a);
  const y = parseAddress(b);
  if (!x || !y) return a.localeCompare(b);
  return x.family - y.family || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0);
}
