// Shared plain-value inputs for the unit tests.
import type { DataplaneInput, PoolInput } from './types.js';

export function pool(cidr: string, opts: Partial<PoolInput> = {}): PoolInput {
  return { cidr, ipipMode: 'never', vxlanMode: 'never', natOutgoing: false, disabled: false, ...opts };
}

/** Node n1 on 198.51.100.0/24 (eth0), no pools, nothing learned. */
export function baseInput(over: Partial<DataplaneInput> = {}): DataplaneInput {
  return {
    node: {
      name: 'n1',
      ipv4: '198.51.100.1',
      underlay: { interface: 'eth0', cidr: '198.51.100.1/24' },
      vxlan: { vtepIp: '10.2.0.1', vtepMac: '66:00:00:00:00:01' },
    },
    pools: [],
    localBlocks: [],
    remoteRoutes: [],
    remoteVteps: [],
    workloads: [],
    ...over,
  };
}
