// Parsers from what the kernel tools print to plain values (pure: tested with captured output).
import { canonicalCidr, type Family } from './cidr.js';
import { NAT_POSTROUTING_CHAIN } from './desired.js';
import { KERNEL_DEFAULT_METRIC, type RouteSpec } from './types.js';

export interface ActualRoute extends RouteSpec {
  /** the table as `ip` printed it (undefined = main), used verbatim to delete the route */
  tableText?: string;
}

export interface ActualLink {
  name: string;
  kind?: string;
  up: boolean;
  mtu: number;
  mac?: string;
  /** addresses as CIDR text (link-local IPv6 left out) */
  addresses: string[];
  /** `linkinfo.info_data` for tunnels: vxlan id/local/link/port/learning */
  info: Record<string, unknown>;
}

export interface ActualNeigh {
  dev: string;
  ip: string;
  mac?: string;
}

export interface ActualFdb {
  mac: string;
  dst?: string;
}

export interface ActualNat {
  family: Family;
  /** our chains (TSNET-*) → rules in iptables-save form */
  chains: Record<string, string[]>;
  /** how many `-A POSTROUTING -j TSNET-POSTROUTING` rules exist */
  jumps: number;
}

export interface ActualState {
  routes: ActualRoute[];
  links: Map<string, ActualLink>;
  neighs: ActualNeigh[];
  fdb: ActualFdb[];
  proxyNeighs: ActualNeigh[];
  sysctls: Record<string, string>;
  /** undefined for a family whose iptables could not be read */
  nat: Partial<Record<Family, ActualNat>>;
}

function parseJsonArray(text: string, what: string): Record<string, unknown>[] {
  const t = text.trim();
  if (t === '') return [];
  const v: unknown = JSON.parse(t);
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v as Record<string, unknown>[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const flagsOf = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** `ip -4|-6 -json route show table all proto N` → routes (metric only when not the kernel's default). */
export function parseRoutes(json: string, family: Family): ActualRoute[] {
  return parseJsonArray(json, 'ip route').map((r) => {
    const rawDst = str(r.dst) ?? 'default';
    const dst = rawDst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : canonicalCidr(rawDst);
    const type = str(r.type) === 'blackhole' ? 'blackhole' : 'unicast';
    const route: ActualRoute = { family, dst, type };
    const via = str(r.gateway);
    if (via) route.via = via;
    const dev = str(r.dev);
    if (dev && type !== 'blackhole') route.dev = dev;
    if (flagsOf(r.flags).includes('onlink')) route.onlink = true;
    if (str(r.scope) === 'link') route.scope = 'link';
    // `metric` is absent for IPv4 metric 0 and always there for IPv6 (1024 unless set)
    if (typeof r.metric === 'number' && r.metric !== KERNEL_DEFAULT_METRIC[family]) route.metric = r.metric;
    const table = str(r.table);
    if (table !== undefined && table !== 'main') {
      route.tableText = table;
      if (/^\d+$/.test(table)) route.table = Number(table);
    }
    return route;
  });
}

/** `ip -d -json addr show` → links by name, with addresses and tunnel details. */
export function parseLinks(json: string): Map<string, ActualLink> {
  const out = new Map<string, ActualLink>();
  for (const l of parseJsonArray(json, 'ip addr')) {
    const name = str(l.ifname);
    if (!name) continue;
    const linkinfo = (l.linkinfo ?? {}) as Record<string, unknown>;
    const addrs = Array.isArray(l.addr_info) ? (l.addr_info as Record<string, unknown>[]) : [];
    out.set(name, {
      name,
      kind: str(linkinfo.info_kind),
      up: flagsOf(l.flags).includes('UP'),
      mtu: typeof l.mtu === 'number' ? l.mtu : 0,
      mac: str(l.address)?.toLowerCase(),
      addresses: addrs
        .filter((a) => str(a.scope) !== 'link' && typeof a.local === 'string')
        .map((a) => `${a.local as string}/${String(a.prefixlen)}`),
      info: (linkinfo.info_data ?? {}) as Record<string, unknown>,
    });
  }
  return out;
}

/** `ip -json neigh show ...` → entries (`dev` taken from the entry or the `dev` filter used). */
export function parseNeighs(json: string, dev?: string): ActualNeigh[] {
  return parseJsonArray(json, 'ip neigh').flatMap((n) => {
    const ip = str(n.dst);
    const d = str(n.dev) ?? dev;
    if (!ip || !d) return [];
    const mac = str(n.lladdr)?.toLowerCase();
    return [{ dev: d, ip, ...(mac ? { mac } : {}) }];
  });
}

/** `bridge -json fdb show dev D` → permanent entries. */
export function parseFdb(json: string): ActualFdb[] {
  return parseJsonArray(json, 'bridge fdb').flatMap((f) => {
    const mac = str(f.mac)?.toLowerCase();
    if (!mac || str(f.state) !== 'permanent') return [];
    const dst = str(f.dst);
    return [{ mac, ...(dst ? { dst } : {}) }];
  });
}

/** `grep -s -H . /proc/sys/a/b ...` → { 'a/b': value }. */
export function parseSysctls(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\/proc\/sys\/([^:]+):(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** `iptables-save -t nat` → our chains and the number of jump rules into them. */
export function parseNat(text: string, family: Family): ActualNat {
  const chains: Record<string, string[]> = {};
  let jumps = 0;
  for (const line of text.split('\n')) {
    const decl = /^:(TSNET-\S+)\s/.exec(line);
    if (decl) chains[decl[1]!] ??= [];
    const rule = /^-A (TSNET-\S+) /.exec(line);
    if (rule) (chains[rule[1]!] ??= []).push(line.trimEnd());
    if (line.trimEnd() === `-A POSTROUTING -j ${NAT_POSTROUTING_CHAIN}`) jumps++;
  }
  return { family, chains, jumps };
}
