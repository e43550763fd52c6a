import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Netns, netnsUnsupportedReason, uniquePrefix } from '@tsnet/testkit';
import { ExecaRunner } from '@tsnet/dataplane';
import {
  computeIsolationRules,
  isolationInputFrom,
  networkChainName,
  parseNetworkChains,
} from './isolation.js';
import { IsolationApplier, applyIsolation, chainsLeftBy, removeIsolation } from './isolation-apply.js';

const A = networkChainName('net-a');
const B = networkChainName('net-b');

describe('computeIsolationRules', () => {
  test('members of one network return, other pool addresses drop, per family', () => {
    const rules = computeIsolationRules({
      networks: [
        { id: 'net-a', addresses: ['192.168.0.1', '192.168.0.2', 'fd00::1'] },
        { id: 'net-b', addresses: ['192.168.1.7'] },
      ],
      pools: ['192.168.0.0/16', 'fd00::/64'],
    });
    const v4 = rules.ipv4.split('\n');
    assert.equal(v4[0], '*filter');
    assert.ok(v4.includes(':TSNET-ISOLATION - [0:0]'));
    assert.ok(v4.includes(`-A TSNET-ISOLATION -s 192.168.0.1/32 -j ${A}`));
    assert.ok(v4.includes(`-A TSNET-ISOLATION -s 192.168.1.7/32 -j ${B}`));
    assert.ok(v4.includes(`-A ${A} -d 192.168.0.2/32 -j RETURN`));
    assert.ok(v4.includes(`-A ${A} -d 192.168.0.0/16 -j DROP`));
    assert.ok(v4.includes(`-A ${B} -d 192.168.0.0/16 -j DROP`));
    assert.ok(!v4.some((l) => l.includes('fd00')), 'no IPv6 in the IPv4 text');
    // RETURN for members precedes the DROP of the pool in each network chain
    assert.ok(
      v4.indexOf(`-A ${A} -d 192.168.0.2/32 -j RETURN`) < v4.indexOf(`-A ${A} -d 192.168.0.0/16 -j DROP`),
    );
    assert.equal(v4.at(-2), 'COMMIT');
    const v6 = rules.ipv6.split('\n');
    assert.ok(v6.includes(`-A TSNET-ISOLATION -s fd00::1/128 -j ${A}`));
    assert.ok(v6.includes(`-A ${A} -d fd00::/64 -j DROP`));
    assert.ok(!v6.some((l) => l.includes(B)), 'net-b has no IPv6 member');
  });

  test('stale network chains are flushed and deleted; output is deterministic', () => {
    const input = {
      networks: [{ id: 'net-b', addresses: ['10.0.0.2', '10.0.0.1'] }],
      pools: ['10.0.0.0/8'],
      existingChains: { ipv4: [A, B] },
    };
    const text = computeIsolationRules(input).ipv4;
    assert.ok(text.includes(`:${A} - [0:0]\n`));
    assert.ok(text.includes(`-X ${A}\n`));
    assert.ok(!text.includes(`-X ${B}`));
    assert.equal(
      text,
      computeIsolationRules({ ...input, networks: [{ id: 'net-b', addresses: ['10.0.0.1', '10.0.0.2'] }] })
        .ipv4,
    );
  });

  test('chain names fit iptables and are stable', () => {
    assert.ok(A.length <= 28);
    assert.equal(A, networkChainName('net-a'));
    assert.notEqual(A, B);
    assert.deepEqual(
      parseNetworkChains(`*filter\n:FORWARD ACCEPT [0:0]\n:${A} - [0:0]\n:TSNET-ISOLATION - [0:0]\nCOMMIT\n`),
      [A],
    );
  });

  test('isolationInputFrom groups endpoint addresses by network, deleted networks included', () => {
    const input = isolationInputFrom(
      [{ id: 'n1' }, { id: 'n2' }],
      [
        { network: 'n1', ipv4: '10.0.0.1', ipv6: null },
        { network: 'n1', ipv4: '10.0.0.2', ipv6: 'fd00::2' },
        { network: 'gone', ipv4: '10.0.0.9', ipv6: null },
      ],
      ['10.0.0.0/8'],
    );
    assert.deepEqual(input.networks, [
      { id: 'n1', addresses: ['10.0.0.1', '10.0.0.2', 'fd00::2'] },
      { id: 'n2', addresses: [] },
      { id: 'gone', addresses: ['10.0.0.9'] },
    ]);
  });
});

describe('applyIsolation against real iptables in a namespace', { skip: netnsUnsupportedReason() }, () => {
  test('programs, updates (removing stale chains) and removes the chains', async () => {
    const ns = await Netns.create(uniquePrefix('iso'));
    const runner = new ExecaRunner({ netns: ns.name });
    try {
      await applyIsolation(
        {
          networks: [
            { id: 'net-a', addresses: ['192.168.0.1'] },
            { id: 'net-b', addresses: ['192.168.1.1'] },
          ],
          pools: ['192.168.0.0/16'],
        },
        runner,
      );
      await applyIsolation(
        {
          networks: [
            { id: 'net-a', addresses: ['192.168.0.1'] },
            { id: 'net-b', addresses: ['192.168.1.1'] },
          ],
          pools: ['192.168.0.0/16'],
        },
        runner,
      );
      let saved = await ns.exec('iptables-save', ['-t', 'filter']);
      assert.equal(
        saved.split('\n').filter((l) => l === '-A FORWARD -j TSNET-ISOLATION').length,
        1,
        'hooked once',
      );
      assert.ok(saved.includes(`-A ${A} -d 192.168.0.0/16 -j DROP`));
      assert.ok(saved.includes(`-A TSNET-ISOLATION -s 192.168.1.1/32 -j ${B}`));

      await applyIsolation(
        { networks: [{ id: 'net-b', addresses: ['192.168.1.1'] }], pools: ['192.168.0.0/16'] },
        runner,
      );
      saved = await ns.exec('iptables-save', ['-t', 'filter']);
      assert.ok(!saved.includes(A), 'net-a chain removed');
      assert.ok(saved.includes(B));

      await removeIsolation(runner);
      saved = await ns.exec('iptables-save', ['-t', 'filter']);
      assert.ok(!saved.includes('TSNET-'), saved);
    } finally {
      await ns.delete();
    }
  });
});

test('chainsLeftBy: declared chains minus the deleted ones', () => {
  const text = computeIsolationRules({
    networks: [{ id: 'net-b', addresses: ['192.168.1.1'] }],
    pools: ['192.168.0.0/16'],
    existingChains: { ipv4: [A, B] },
  }).ipv4;
  assert.deepEqual(chainsLeftBy(text), [B]);
});

describe('IsolationApplier against real iptables in a namespace', { skip: netnsUnsupportedReason() }, () => {
  test('later passes restore only what changed, without reading the tables; full repairs the hook', async () => {
    const ns = await Netns.create(uniquePrefix('isa'));
    const runner = new ExecaRunner({ netns: ns.name });
    const calls: string[] = [];
    const counting = { run: (cmd: string, args: readonly string[], opts?: { input?: string }) => {
      calls.push(cmd);
      return runner.run(cmd, args, opts);
    } };
    const applier = new IsolationApplier(counting);
    const both = {
      networks: [
        { id: 'net-a', addresses: ['192.168.0.1'] },
        { id: 'net-b', addresses: ['192.168.1.1'] },
      ],
      pools: ['192.168.0.0/16'],
    };
    const save = (): Promise<string> => ns.exec('iptables-save', ['-t', 'filter']);
    try {
      assert.equal(await applier.apply(both, { full: true }), 2);
      assert.ok(calls.includes('iptables-save') && calls.includes('ip6tables-save'));
      assert.ok((await save()).includes('-A FORWARD -j TSNET-ISOLATION'));

      calls.length = 0;
      assert.equal(await applier.apply(both), 0, 'nothing changed: nothing restored');
      assert.deepEqual(calls, []);

      // net-a gone: only IPv4 restored, its chain deleted although the tables were not read
      assert.equal(await applier.apply({ networks: [both.networks[1]!], pools: both.pools }), 1);
      assert.deepEqual(calls, ['iptables-restore']);
      let saved = await save();
      assert.ok(!saved.includes(A), 'net-a chain removed');
      assert.ok(saved.includes(`-A TSNET-ISOLATION -s 192.168.1.1/32 -j ${B}`));

      // someone removes the hook: an ordinary pass does not look, a full one puts it back
      await ns.exec('iptables', ['-D', 'FORWARD', '-j', 'TSNET-ISOLATION']);
      await applier.apply({ networks: [both.networks[1]!], pools: both.pools });
      assert.ok(!(await save()).includes('-A FORWARD -j TSNET-ISOLATION'));
      await applier.apply({ networks: [both.networks[1]!], pools: both.pools }, { full: true });
      saved = await save();
      assert.equal(saved.split('\n').filter((l) => l === '-A FORWARD -j TSNET-ISOLATION').length, 1);
    } finally {
      await removeIsolation(runner).catch(() => undefined);
      await ns.delete();
    }
  });
});
