// The exact commands the reconciler issues, recorded by a runner that answers reads with
// captured kernel output (this machine's kernel has no ipip module, so IPIP is checked here).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reconciler } from './reconciler.js';
import { formatCommand, type CommandResult, type CommandRunner, type RunOptions } from './runner.js';
import { baseInput, pool } from './fixtures.test-util.js';

const EMPTY_NAT = '*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';
const ETH0 = JSON.stringify([
  {
    ifname: 'eth0',
    flags: ['UP'],
    mtu: 1500,
    address: 'f2:63:64:cc:5a:b7',
    linkinfo: { info_kind: 'veth' },
    addr_info: [{ family: 'inet', local: '198.51.100.1', prefixlen: 24, scope: 'global' }],
  },
]);

class RecordingRunner implements CommandRunner {
  readonly calls: { command: string; input?: string }[] = [];
  constructor(private readonly answer: (command: string) => Partial<CommandResult> | undefined) {}
  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const command = formatCommand(cmd, args);
    this.calls.push(opts.input === undefined ? { command } : { command, input: opts.input });
    return { exitCode: 0, stdout: '', stderr: '', ...this.answer(command) };
  }
  /** The changes: everything but the reads. */
  writes(): { command: string; input?: string }[] {
    return this.calls.filter(
      (c) =>
        !/^(ip (-4 |-6 |-d )?-json|ip -d -json|bridge -json|iptables-save|ip6tables-save|grep )/.test(
          c.command,
        ),
    );
  }
}

function kernel(
  over: Record<string, Partial<CommandResult>> = {},
): (c: string) => Partial<CommandResult> | undefined {
  return (c) => {
    if (over[c]) return over[c];
    if (c === 'ip -d -json addr show') return { stdout: ETH0 };
    if (c.startsWith('iptables-save') || c.startsWith('ip6tables-save')) return { stdout: EMPTY_NAT };
    if (c.startsWith('bridge -json fdb show') || c.includes('neigh show dev vxlan.tsnet'))
      return { exitCode: 1, stderr: 'Cannot find device "vxlan.tsnet"' };
    return undefined;
  };
}

describe('Reconciler commands', () => {
  test('ipip pool: probes once, programs tunl0 and onlink routes through one ip batch', async () => {
    const runner = new RecordingRunner(
      kernel({ 'ip link show tunl0': { exitCode: 1, stderr: 'Device "tunl0" does not exist.' } }),
    );
    const rec = new Reconciler({ runner, rtProtosFile: null });
    const input = baseInput({
      node: { ...baseInput().node, ipipTunnelAddress: '10.0.0.1' },
      pools: [pool('10.0.0.0/16', { ipipMode: 'always' })],
      localBlocks: ['10.0.0.0/26'],
      remoteRoutes: [{ prefix: '10.0.1.0/26', nextHop: '198.51.100.2' }],
    });
    const result = await rec.reconcile(input);
    assert.deepEqual(runner.writes(), [
      { command: 'ip link show tunl0' },
      { command: 'ip link add tsnet-probe type ipip' },
      { command: 'ip link del tsnet-probe' },
      { command: 'sysctl -w net/ipv4/ip_forward=1' },
      {
        command: 'ip -force -batch -',
        input: 'link add tunl0 type ipip\nlink set tunl0 mtu 1480 up\naddr add 10.0.0.1/32 dev tunl0\n',
      },
      {
        command: 'ip -force -batch -',
        input:
          'route replace blackhole 10.0.0.0/26 proto 80\nroute replace 10.0.1.0/26 via 198.51.100.2 dev tunl0 onlink proto 80\n',
      },
    ]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.problems, []);
    // detected once: the next pass does not probe again
    runner.calls.length = 0;
    await rec.reconcile(input);
    assert.ok(
      !runner.calls.some((c) => c.command.includes('tsnet-probe') || c.command === 'ip link show tunl0'),
    );
  });

  test('no ipip module: a clear problem for that pool, the native pool is still programmed', async () => {
    const runner = new RecordingRunner(
      kernel({
        'ip link show tunl0': { exitCode: 1, stderr: 'Device "tunl0" does not exist.' },
        'ip link add tsnet-probe type ipip': { exitCode: 2, stderr: 'Error: Unknown device type.' },
      }),
    );
    const result = await new Reconciler({ runner, rtProtosFile: null }).reconcile(
      baseInput({
        pools: [pool('10.0.0.0/16', { ipipMode: 'always' }), pool('10.3.0.0/16')],
        remoteRoutes: [
          { prefix: '10.0.1.0/26', nextHop: '198.51.100.2' },
          { prefix: '10.3.1.0/26', nextHop: '198.51.100.2' },
        ],
      }),
    );
    assert.deepEqual(result.problems, [
      'pool 10.0.0.0/16 needs IPIP but this kernel has no ipip module (modprobe ipip)',
    ]);
    assert.deepEqual(runner.writes().slice(-1), [
      { command: 'ip -force -batch -', input: 'route replace 10.3.1.0/26 via 198.51.100.2 proto 80\n' },
    ]);
  });

  test('vxlan pool: device batch, route+neighbour batch, then the FDB through bridge', async () => {
    const runner = new RecordingRunner(kernel());
    await new Reconciler({ runner, rtProtosFile: null }).reconcile(
      baseInput({
        pools: [pool('10.2.0.0/16', { vxlanMode: 'always' })],
        remoteRoutes: [{ prefix: '10.2.1.0/26', nextHop: '203.0.113.5' }],
        remoteVteps: [{ nodeIp: '203.0.113.5', vtepIp: '10.2.1.0', vtepMac: '66:00:00:00:00:05' }],
      }),
    );
    assert.deepEqual(runner.writes(), [
      { command: 'ip link add tsnet-probe type vxlan id 1 dstport 4789' },
      { command: 'ip link del tsnet-probe' },
      { command: 'sysctl -w net/ipv4/ip_forward=1' },
      {
        command: 'ip -force -batch -',
        input:
          'link add vxlan.tsnet type vxlan id 4096 dstport 4789 local 198.51.100.1 dev eth0 nolearning\n' +
          'link set vxlan.tsnet mtu 1450 address 66:00:00:00:00:01 up\naddr add 10.2.0.1/32 dev vxlan.tsnet\n',
      },
      {
        command: 'ip -force -batch -',
        input:
          'route replace 10.2.1.0/26 via 10.2.1.0 dev vxlan.tsnet onlink proto 80\n' +
          'neigh replace 10.2.1.0 lladdr 66:00:00:00:00:05 dev vxlan.tsnet nud permanent\n',
      },
      {
        command: 'bridge -force -batch -',
        input: 'fdb replace 66:00:00:00:00:05 dev vxlan.tsnet dst 203.0.113.5 self permanent\n',
      },
    ]);
  });

  test('nat-outgoing: iptables-restore --noflush for v4 and ip6tables-restore for v6; a failing line is reported', async () => {
    const runner = new RecordingRunner(
      kernel({
        'ip -force -batch -': {
          exitCode: 1,
          stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:1\n',
        },
      }),
    );
    const result = await new Reconciler({ runner, rtProtosFile: null }).reconcile(
      baseInput({
        pools: [pool('10.3.0.0/16', { natOutgoing: true }), pool('fd00::/64', { natOutgoing: true })],
        remoteRoutes: [{ prefix: '10.3.1.0/26', nextHop: '203.0.113.5' }],
      }),
    );
    const restores = runner.writes().filter((c) => c.command.includes('tables-restore'));
    assert.deepEqual(restores, [
      {
        command: 'iptables-restore -w 5 --noflush',
        input:
          '*nat\n:TSNET-POSTROUTING - [0:0]\n:TSNET-NAT-OUTGOING - [0:0]\n' +
          '-A TSNET-POSTROUTING -s 10.3.0.0/16 -j TSNET-NAT-OUTGOING\n' +
          '-A TSNET-NAT-OUTGOING -d 10.3.0.0/16 -j RETURN\n-A TSNET-NAT-OUTGOING -j MASQUERADE\n' +
          '-I POSTROUTING 1 -j TSNET-POSTROUTING\nCOMMIT\n',
      },
      {
        command: 'ip6tables-restore -w 5 --noflush',
        input:
          '*nat\n:TSNET-POSTROUTING - [0:0]\n:TSNET-NAT-OUTGOING - [0:0]\n' +
          '-A TSNET-POSTROUTING -s fd00::/64 -j TSNET-NAT-OUTGOING\n' +
          '-A TSNET-NAT-OUTGOING -d fd00::/64 -j RETURN\n-A TSNET-NAT-OUTGOING -j MASQUERADE\n' +
          '-I POSTROUTING 1 -j TSNET-POSTROUTING\nCOMMIT\n',
      },
    ]);
    assert.deepEqual(result.errors, [
      {
        command: 'ip -batch: route replace 10.3.1.0/26 via 203.0.113.5 proto 80',
        error: 'Error: Nexthop has invalid gateway.',
      },
    ]);
  });

  test('registers "80 tsnet" in rt_protos.d when writable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsnet-rtp-'));
    try {
      const file = join(dir, 'rt_protos.d', 'tsnet.conf');
      await new Reconciler({ runner: new RecordingRunner(kernel()), rtProtosFile: file }).reconcile(
        baseInput(),
      );
      assert.equal(await readFile(file, 'utf8'), '80\ttsnet\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
