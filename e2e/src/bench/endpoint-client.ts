// The benchmark's plugin client: one POST on the plugin socket, the JSON reply.
import { unixHttp } from '@tsnet/unix-http';

export async function post(socketPath: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const { text } = await unixHttp({ socketPath, method: 'POST', path, body, timeoutMs: 10_000, what: 'plugin' });
  return JSON.parse(text) as Record<string, unknown>;
}

/** The six calls of one container's life on the plugin, in dockerd's order. */
export const LIFECYCLE_CALLS = [
  'RequestAddress',
  'CreateEndpoint',
  'Join',
  'Leave',
  'DeleteEndpoint',
  'ReleaseAddress',
] as const;

export interface LifecycleTimes {
  /** per call: the server's own time when `serverMs` is given, else the client's round trip */
  per: Record<(typeof LIFECYCLE_CALLS)[number], number[]>;
  /** per endpoint: the sum of `per` */
  totals: number[];
  /** per endpoint: client wall clock over the six calls */
  wall: number[];
}

/**
 * `n` endpoint lifecycles (after 5 warm-up ones) against the plugin on `sock`, on the network
 * `networkId` (a docker network id the plugin knows) and the pool `pool`. `serverMs` returns
 * the server-side time of the last call of a path (the plugin's onCall hook), when available.
 */
export async function runLifecycles(
  sock: string,
  networkId: string,
  pool: string,
  n: number,
  idTag: string,
  serverMs?: (path: string) => number,
): Promise<LifecycleTimes> {
  const out: LifecycleTimes = {
    per: Object.fromEntries(LIFECYCLE_CALLS.map((c) => [c, []])) as unknown as LifecycleTimes['per'],
    totals: [],
    wall: [],
  };
  for (let i = 0; i < n + 5; i++) {
    const ep = `${idTag}${i.toString(16).padStart(8, '0')}`.padEnd(64, 'e');
    const bodies: [string, (addr: string) => object][] = [
      ['/IpamDriver.RequestAddress', () => ({ PoolID: pool })],
      [
        '/NetworkDriver.CreateEndpoint',
        (a) => ({ NetworkID: networkId, EndpointID: ep, Interface: { Address: a } }),
      ],
      ['/NetworkDriver.Join', () => ({ NetworkID: networkId, EndpointID: ep, SandboxKey: '/x' })],
      ['/NetworkDriver.Leave', () => ({ NetworkID: networkId, EndpointID: ep })],
      ['/NetworkDriver.DeleteEndpoint', () => ({ NetworkID: networkId, EndpointID: ep })],
      ['/IpamDriver.ReleaseAddress', (a) => ({ PoolID: pool, Address: a })],
    ];
    const t0 = performance.now();
    let addr = '';
    let sum = 0;
    for (const [idx, [path, body]] of bodies.entries()) {
      const c0 = performance.now();
      const reply = await post(sock, path, body(addr));
      const client = performance.now() - c0;
      if (reply.Err || reply.Error) throw new Error(`${path}: ${String(reply.Err ?? reply.Error)}`);
      if (idx === 0) addr = String(reply.Address);
      const t = serverMs ? serverMs(path) : client;
      sum += t;
      if (i >= 5) out.per[LIFECYCLE_CALLS[idx]!].push(t); // the first 5 warm up
    }
    if (i >= 5) {
      out.totals.push(sum);
      out.wall.push(performance.now() - t0);
    }
  }
  return out;
}
