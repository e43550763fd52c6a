/**
 * Network isolation as a pure function: from the tsnet networks and their members' addresses to
 * iptables-restore text (filter table, `--noflush`) for the TSNET-ISOLATION chain that FORWARD
 * jumps to. A packet from a member of network N to any pool address is dropped unless the
 * destination is also a member of N, so networks are isolated on every host while members of one
 * network reach each other across hosts. Traffic from or to anything outside the members is
 * untouched (host ↔ container, the outside world).
 */
import { createHash } from 'node:crypto';
import { canonicalCidr, familyOf } from './addr.js';

export const ISOLATION_CHAIN = 'TSNET-ISOLATION';
export const NETWORK_CHAIN_PREFIX = 'TSNET-NET-';
/** The rule that hooks the chain (`iptables -C/-I FORWARD …`). */
export const ISOLATION_HOOK = ['FORWARD', '-j', ISOLATION_CHAIN] as const;

export interface IsolationNetwork {
  id: string;
  /** member addresses (no prefix length), both families mixed */
  addresses: string[];
}

export interface IsolationInput {
  networks: IsolationNetwork[];
  /** every tsnet pool CIDR (enabled or not): the address space members are isolated within */
  pools: string[];
  /** TSNET-NET-* chains present now (from iptables-save), so stale ones are removed */
  existingChains?: { ipv4?: string[]; ipv6?: string[] };
}

export interface IsolationRules {
  ipv4: string;
  ipv6: string;
}

/** Chain of one network: stable, at most 28 characters (iptables' limit). */
export function networkChainName(networkId: string): string {
  return NETWORK_CHAIN_PREFIX + createHash('sha256').update(networkId).digest('hex').slice(0, 16);
}

export function computeIsolationRules(input: IsolationInput): IsolationRules {
  return {
    ipv4: familyRules(input, 4, input.existingChains?.ipv4 ?? []),
    ipv6: familyRules(input, 6, input.existingChains?.ipv6 ?? []),
  };
}

function familyRules(input: IsolationInput, family: 4 | 6, existing: string[]): string {
  const hostLen = family === 4 ? 32 : 128;
  const pools = [
    ...new Set(input.pools.filter((p) => familyOf(p) === family).map((p) => canonicalCidr(p) ?? p)),
  ].sort();
  const networks = [...input.networks]
    .map((n) => ({
      chain: networkChainName(n.id),
      members: [...new Set(n.addresses.filter((a) => familyOf(a) === family))].sort(),
    }))
    .filter((n) => n.members.length > 0)
    // code-unit order (names are ASCII): localeCompare would load ICU's collator into the agent
    .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
  const wanted = new Set(networks.map((n) => n.chain));
  const stale = existing.filter((c) => c.startsWith(NETWORK_CHAIN_PREFIX) && !wanted.has(c)).sort();

  const lines = ['*filter', `:${ISOLATION_CHAIN} - [0:0]`];
  for (const n of networks) lines.push(`:${n.chain} - [0:0]`);
  for (const c of stale) lines.push(`:${c} - [0:0]`);
  for (const n of networks) {
    for (const m of n.members) lines.push(`-A ${ISOLATION_CHAIN} -s ${m}/${hostLen} -j ${n.chain}`);
  }
  for (const n of networks) {
    for (const m of n.members) lines.push(`-A ${n.chain} -d ${m}/${hostLen} -j RETURN`);
    for (const p of pools) lines.push(`-A ${n.chain} -d ${p} -j DROP`);
  }
  for (const c of stale) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Names of TSNET-NET-* chains in `iptables-save -t filter` output. */
export function parseNetworkChains(saveOutput: string): string[] {
  const out: string[] = [];
  for (const line of saveOutput.split('\n')) {
    const m = /^:(\S+)/.exec(line);
    if (m && m[1]!.startsWith(NETWORK_CHAIN_PREFIX)) out.push(m[1]!);
  }
  return out;
}

/**
 * The isolation input from the plugin's records: members grouped by their endpoints' network, so
 * containers of a network deleted while they still run stay isolated with their former peers.
 */
export function isolationInputFrom(
  networks: { id: string }[],
  endpoints: { network: string; ipv4: string | null; ipv6: string | null }[],
  pools: string[],
): IsolationInput {
  const members = new Map<string, string[]>(networks.map((n) => [n.id, []]));
  for (const e of endpoints) {
    const list = members.get(e.network) ?? [];
    members.set(e.network, list);
    if (e.ipv4) list.push(e.ipv4);
    if (e.ipv6) list.push(e.ipv6);
  }
  return { networks: [...members].map(([id, addresses]) => ({ id, addresses })), pools };
}
