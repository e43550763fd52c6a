import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tempDir } from '@tsnet/testkit';
import { AgentNotRunningError, callAgent, controlSocketPath, pidFilePath } from './control-api.js';
import { startControlServer } from './control-server.js';
import { AgentMetrics, parseHostPort, startMetricsServer } from './metrics.js';
import { buildStatus } from './status.js';

test('control socket serves /status, writes the pid file, replaces a stale socket', async () => {
  const dir = await tempDir('ctl');
  try {
    // a stale socket file: bound once, its server gone
    const stale = createServer();
    await new Promise<void>((r) => stale.listen(controlSocketPath(dir.path), r));
    await new Promise<void>((r) => {
      stale.close(() => r());
    });
    await writeFile(controlSocketPath(dir.path), '').catch(() => undefined);
    const server = await startControlServer(dir.path, { 'GET /status': () => ({ running: true, pid: 42 }) });
    try {
      assert.deepEqual(await callAgent(dir.path, 'GET', '/status'), { running: true, pid: 42 });
      await assert.rejects(callAgent(dir.path, 'GET', '/nope'), /no such control call/);
      assert.equal((await readFile(pidFilePath(dir.path), 'utf8')).trim(), String(process.pid));
      await assert.rejects(startControlServer(dir.path, {}), /already running \(pid 42\)/);
    } finally {
      await server.close();
    }
    await assert.rejects(callAgent(dir.path, 'GET', '/status'), AgentNotRunningError);
  } finally {
    await dir.remove();
  }
});

test('metrics server: /metrics in Prometheus text, /healthz 200 or 503 with the problems', async () => {
  const metrics = new AgentMetrics(false);
  metrics.setSessions(['Established', 'Established', 'Active']);
  metrics.setIpamUsage(
    {
      config: { defaultAsn: 64511, nodeMesh: true },
      nodes: [],
      pools: [{ cidr: '10.0.0.0/24', ipipMode: 'never', vxlanMode: 'never', natOutgoing: false, disabled: false, blockSize: 26 }],
      peers: [],
      blocks: [
        { cidr: '10.0.0.0/26', affinity: 'a', inUse: { a: 3, b: 1 } },
        { cidr: '10.0.0.64/26', affinity: 'b', inUse: { a: 1 } },
      ],
      borrowed: [],
      endpoints: [],
    },
    'a',
  );
  let problems: string[] = [];
  const srv = await startMetricsServer('127.0.0.1:0', metrics, () => problems);
  try {
    const text = await (await fetch(`http://${srv.address}/metrics`)).text();
    assert.match(text, /tsnet_bgp_sessions\{state="Established"\} 2/);
    assert.match(text, /tsnet_bgp_sessions\{state="Active"\} 1/);
    assert.match(text, /tsnet_ipam_addresses\{pool="10\.0\.0\.0\/24",kind="in_use"\} 4/);
    assert.match(text, /tsnet_ipam_addresses\{pool="10\.0\.0\.0\/24",kind="capacity"\} 256/);
    assert.match(text, /tsnet_ipam_blocks_affine 1/);
    assert.equal((await fetch(`http://${srv.address}/healthz`)).status, 200);
    problems = ['etcd unreachable'];
    const res = await fetch(`http://${srv.address}/healthz`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /etcd unreachable/);
  } finally {
    await srv.close();
  }
  assert.deepEqual(parseHostPort('[::1]:9099'), { host: '::1', port: 9099 });
  assert.throws(() => parseHostPort('9099'), /HOST:PORT/);
});

test('status: peer state, info and uptime as tsctl status shows them', () => {
  const s = buildStatus({
    pid: 7,
    version: '0.1.0',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    now: new Date('2026-01-01T00:05:00Z'),
    node: { name: 'a', ipv4: '198.51.100.1', ipv6: null, asn: 64511, asnInherited: true },
    peers: [
      {
        peer: { address: '198.51.100.3', asn: 64511, family: 'ipv4', type: 'global', routeReflectorClient: false },
        runtime: {
          fsmState: 'Idle',
          since: null,
          lastError: 'Hold timer expired',
          prefixesReceived: 0,
          prefixesAccepted: 0,
          prefixesAdvertised: 0,
        },
      },
      {
        peer: { address: '198.51.100.2', asn: 64511, family: 'ipv4', type: 'node-to-node mesh', routeReflectorClient: false },
        runtime: {
          fsmState: 'Established',
          since: new Date('2026-01-01T00:01:00Z'),
          prefixesReceived: 3,
          prefixesAccepted: 2,
          prefixesAdvertised: 1,
        },
      },
      {
        peer: { address: '198.51.100.4', asn: 64511, family: 'ipv4', type: 'node-to-node mesh', routeReflectorClient: false },
        runtime: undefined,
      },
    ],
    errors: [],
  });
  assert.equal(s.uptimeSeconds, 300);
  assert.deepEqual(
    s.peers.map((p) => [p.address, p.state, p.info, p.since]),
    [
      ['198.51.100.2', 'up', 'Established', '2026-01-01T00:01:00.000Z'],
      ['198.51.100.3', 'down', 'Hold timer expired', null],
      ['198.51.100.4', 'start', 'Idle', null],
    ],
  );
});
