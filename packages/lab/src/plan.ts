/**
 * The lab's address plan, as a pure function of its options: which hosts exist, their underlay
 * addresses, where etcd listens, and the pool the workloads use. Documentation address ranges
 * only (RFC 5737), so nothing in the lab can collide with a real network.
 */
export type LabMode = 'native' | 'vxlan' | 'ipip';

export interface LabOptions {
  hosts: number;
  mode: LabMode;
  docker: boolean;
  /** namespace name prefix (default LAB_PREFIX; TSNET_LAB_PREFIX lets tests run beside a user's lab) */
  prefix?: string;
}

export interface LabHostPlan {
  name: string;
  /** underlay address with prefix length */
  cidr: string;
  ip: string;
  gateway: string;
}

export interface LabPlan {
  /** namespace name prefix; namespaces are `<prefix>sw`, `<prefix>h1`, … and `<prefix>h1w` for workloads */
  prefix: string;
  hosts: LabHostPlan[];
  etcdClientUrl: string;
  etcdPeerUrl: string;
  pool: { cidr: string; blockSize: number; flags: string[] };
}

export const LAB_PREFIX = 'tslab-';
/** The prefix this process uses: TSNET_LAB_PREFIX or LAB_PREFIX. */
export const labPrefix = (): string => process.env.TSNET_LAB_PREFIX || LAB_PREFIX;
export const MAX_LAB_HOSTS = 50;

const SUBNETS = [
  { net: '198.51.100', gw: '198.51.100.1' },
  { net: '203.0.113', gw: '203.0.113.1' },
] as const;

/** Validates options; returns a one-line error for bad input. */
export function checkLabOptions(o: LabOptions): string | undefined {
  if (!Number.isInteger(o.hosts) || o.hosts < 2 || o.hosts > MAX_LAB_HOSTS)
    return `--hosts must be a whole number from 2 to ${MAX_LAB_HOSTS} (got ${o.hosts})`;
  if (o.prefix !== undefined && !/^[a-z][a-z0-9-]{0,7}$/.test(o.prefix))
    return `namespace prefix must be 1-8 lowercase letters, digits or '-' (got ${o.prefix})`;
  if (!['native', 'vxlan', 'ipip'].includes(o.mode))
    return `--mode must be native, vxlan or ipip (got ${String(o.mode)})`;
  return undefined;
}

/**
 * native: every host on one subnet (plain routed mesh). vxlan/ipip: hosts alternate between two
 * subnets routed by the switch, so the overlay is needed (and cross-subnet mode would apply).
 */
export function planLab(o: LabOptions): LabPlan {
  const split = o.mode !== 'native';
  const hosts: LabHostPlan[] = [];
  for (let i = 1; i <= o.hosts; i++) {
    const s = SUBNETS[split ? (i - 1) % 2 : 0];
    const hostOctet = 10 + (split ? Math.ceil(i / 2) : i);
    const ip = `${s.net}.${hostOctet}`;
    hosts.push({ name: `h${i}`, cidr: `${ip}/24`, ip, gateway: s.gw });
  }
  const flags = o.mode === 'vxlan' ? ['--vxlan'] : o.mode === 'ipip' ? ['--ipip'] : [];
  return {
    prefix: o.prefix ?? LAB_PREFIX,
    hosts,
    etcdClientUrl: `http://${SUBNETS[0].gw}:2379`,
    etcdPeerUrl: `http://${SUBNETS[0].gw}:2380`,
    pool: { cidr: '10.65.0.0/16', blockSize: 26, flags: [...flags, '--nat-outgoing'] },
  };
}

/** Every ordered pair of workloads as `hA->hB` (the ping matrix keys). */
export function pingPairs(hostNames: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const a of hostNames) for (const b of hostNames) if (a !== b) pairs.push([a, b]);
  return pairs;
}
