/**
 * Command line of the ts-bgp daemon, parsed into plain config (pure; throws UsageError with one
 * line that says what is wrong).
 *
 *   ts-bgp --as ASN --router-id IP [--listen ADDR:PORT] --peer IP[,as=ASN][,port=P][,passive]...
 *          [--announce CIDR...] [--next-hop IP]...
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { parsePrefix } from '../codec/prefix.js';
import type { PeerOptions } from '../speaker/types.js';

export class UsageError extends Error {}

export interface DaemonConfig {
  asn: number;
  routerId: string;
  listen: { host: string; port: number } | false;
  peers: PeerOptions[];
  announce: string[];
  /** file with one CIDR per line to announce (large tables) */
  announceFile?: string;
  nextHop: { ipv4?: string; ipv6?: string };
  holdTimeSec: number;
  connectRetrySec: number;
  gracefulRestart: { restartTimeSec: number; restarting: boolean } | false;
  /** print one line per best-path change */
  logRoutes: boolean;
}

export const USAGE =
  'usage: ts-bgp --as ASN --router-id IP [--listen ADDR:PORT] --peer IP[,as=ASN][,port=P][,passive][,rr-client][,next-hop-self][,max-prefixes=N]... ' +
  '[--announce CIDR...] [--announce-file FILE] [--next-hop IP]... [--hold-time SEC] [--connect-retry SEC] ' +
  '[--restart-time SEC] [--restarting] [--no-graceful-restart] [--log-routes]';

const fail = (msg: string): never => {
  throw new UsageError(msg);
};

export function parseAsn(text: string, what: string): number {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  // asplain, or asdot "1.10" (RFC 5396)
  const asn = m ? (m[2] !== undefined ? +m[1]! * 65536 + +m[2] : +m[1]!) : NaN;
  if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) fail(`invalid ${what} "${text}": expected an AS number 1-4294967295`);
  return asn;
}

function parseUint(text: string, what: string, max: number): number {
  if (!/^\d+$/.test(text) || +text > max) fail(`invalid ${what} "${text}": expected a number 0-${max}`);
  return +text;
}

/** "0.0.0.0:179", "[::]:179", "179" */
export function parseListen(text: string): { host: string; port: number } | false {
  if (text === 'none' || text === 'false') return false;
  const m = /^(?:\[([^\]]+)\]|([^:]+))?:?(\d+)$/.exec(text);
  const host = m?.[1] ?? m?.[2] ?? '::';
  if (!m || !(isIPv4(host) || isIPv6(host))) return fail(`invalid --listen "${text}": expected ADDR:PORT, e.g. 0.0.0.0:179 or [::]:179`);
  return { host, port: parseUint(m[3]!, '--listen port', 65535) };
}

/** "192.0.2.1,as=65001,port=1179,passive" */
export function parsePeer(text: string, localAsn: number): PeerOptions {
  const [address, ...opts] = text.split(',');
  if (!address || !(isIPv4(address) || isIPv6(address))) fail(`invalid --peer "${text}": expected IP[,as=ASN][,port=P][,passive]`);
  const peer: PeerOptions = { address: address!, asn: localAsn };
  for (const o of opts) {
    const [k, v] = o.split('=', 2) as [string, string | undefined];
    if (k === 'as' && v) peer.asn = parseAsn(v, `AS in --peer ${text}`);
    else if (k === 'port' && v) peer.port = parseUint(v, `port in --peer ${text}`, 65535);
    else if (k === 'passive' && v === undefined) peer.passive = true;
    else if (k === 'rr-client' && v === undefined) peer.routeReflectorClient = true;
    else if (k === 'next-hop-self' && v === undefined) peer.nextHopSelf = true;
    else if (k === 'max-prefixes' && v) peer.maxPrefixes = parseUint(v, `max-prefixes in --peer ${text}`, 2 ** 32);
    else if (k === 'hold-time' && v) peer.holdTimeSec = parseUint(v, `hold-time in --peer ${text}`, 65535);
    else if (k === 'local-address' && v) peer.localAddress = v;
    else fail(`unknown option "${o}" in --peer ${text}: expected as=ASN, port=P, passive, rr-client, next-hop-self, max-prefixes=N`);
  }
  return peer;
}

export function parseDaemonArgs(argv: string[]): DaemonConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        as: { type: 'string' },
        'router-id': { type: 'string' },
        listen: { type: 'string' },
        peer: { type: 'string', multiple: true },
        announce: { type: 'string', multiple: true },
        'announce-file': { type: 'string' },
        'next-hop': { type: 'string', multiple: true },
        'hold-time': { type: 'string' },
        'connect-retry': { type: 'string' },
        'restart-time': { type: 'string' },
        restarting: { type: 'boolean' },
        'no-graceful-restart': { type: 'boolean' },
        'log-routes': { type: 'boolean' },
      },
    });
  } catch (err) {
    return fail((err as Error).message.split('\n')[0]!);
  }
  const v = parsed.values;
  if (!v.as) fail('missing --as ASN');
  if (!v['router-id']) fail('missing --router-id IP');
  const asn = parseAsn(v.as!, '--as');
  const routerId = v['router-id']!;
  if (!isIPv4(routerId) || routerId === '0.0.0.0') fail(`invalid --router-id "${routerId}": expected a non-zero IPv4 address`);
  // CIDRs may follow one --announce as separate words: --announce 10.0.0.0/24 10.0.1.0/24
  const announce = [...(v.announce ?? []), ...parsed.positionals];
  for (const p of announce) {
    try {
      parsePrefix(p);
    } catch (err) {
      fail(`invalid --announce: ${(err as Error).message}`);
    }
  }
  const nextHop: DaemonConfig['nextHop'] = {};
  for (const nh of v['next-hop'] ?? []) {
    if (isIPv4(nh)) nextHop.ipv4 = nh;
    else if (isIPv6(nh)) nextHop.ipv6 = nh;
    else fail(`invalid --next-hop "${nh}": expected an IPv4 or IPv6 address`);
  }
  const peers = (v.peer ?? []).map((p) => parsePeer(p, asn));
  const holdTimeSec = v['hold-time'] ? parseUint(v['hold-time'], '--hold-time', 65535) : 90;
  if (holdTimeSec === 1 || holdTimeSec === 2) fail(`invalid --hold-time ${holdTimeSec}: must be 0 or at least 3 seconds`);
  const restartTimeSec = v['restart-time'] ? parseUint(v['restart-time'], '--restart-time', 4095) : 120;
  return {
    asn,
    routerId,
    listen: v.listen !== undefined ? parseListen(v.listen) : { host: '::', port: 179 },
    peers,
    announce,
    ...(v['announce-file'] ? { announceFile: v['announce-file'] } : {}),
    nextHop,
    holdTimeSec,
    connectRetrySec: v['connect-retry'] ? parseUint(v['connect-retry'], '--connect-retry', 3600) : 5,
    gracefulRestart: v['no-graceful-restart'] ? false : { restartTimeSec, restarting: v.restarting ?? false },
    logRoutes: v['log-routes'] ?? false,
  };
}
