import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDaemonArgs, parseListen, parsePeer, UsageError } from './args.js';

describe('ts-bgp arguments', () => {
  test('the contract example parses', () => {
    const c = parseDaemonArgs([
      '--as', '64511', '--router-id', '192.0.2.10', '--listen', '192.0.2.10:1179',
      '--peer', '192.0.2.1,as=65001,port=179,passive', '--peer', '192.0.2.2',
      '--announce', '10.0.0.0/24', '10.0.1.0/24', '--next-hop', '192.0.2.10', '--next-hop', '2001:db8::10',
    ]);
    assert.equal(c.asn, 64511);
    assert.deepEqual(c.listen, { host: '192.0.2.10', port: 1179 });
    assert.deepEqual(c.peers, [
      { address: '192.0.2.1', asn: 65001, port: 179, passive: true },
      { address: '192.0.2.2', asn: 64511 },
    ]);
    assert.deepEqual(c.announce, ['10.0.0.0/24', '10.0.1.0/24']);
    assert.deepEqual(c.nextHop, { ipv4: '192.0.2.10', ipv6: '2001:db8::10' });
    assert.deepEqual(c.gracefulRestart, { restartTimeSec: 120, restarting: false }, 'graceful restart is advertised by default');
  });

  test('listen forms', () => {
    assert.deepEqual(parseListen('[::]:179'), { host: '::', port: 179 });
    assert.deepEqual(parseListen('0.0.0.0:1790'), { host: '0.0.0.0', port: 1790 });
    assert.equal(parseListen('none'), false);
  });

  test('4-octet AS, asdot too', () => {
    assert.equal(parsePeer('10.0.0.1,as=4200000000', 1).asn, 4200000000);
    assert.equal(parsePeer('10.0.0.1,as=1.10', 1).asn, 65546);
  });

  for (const [args, msg] of [
    [['--router-id', '1.1.1.1'], /missing --as/],
    [['--as', '0', '--router-id', '1.1.1.1'], /invalid --as "0"/],
    [['--as', '1', '--router-id', 'x'], /invalid --router-id/],
    [['--as', '1', '--router-id', '1.1.1.1', '--peer', 'nope'], /invalid --peer "nope"/],
    [['--as', '1', '--router-id', '1.1.1.1', '--announce', '10.0.0.0/33'], /invalid --announce/],
    [['--as', '1', '--router-id', '1.1.1.1', '--bogus'], /bogus/],
    [['--as', '1', '--router-id', '1.1.1.1', '--hold-time', '2'], /at least 3/],
  ] as Array<[string[], RegExp]>) {
    test(`rejects ${args.join(' ')}`, () => {
      assert.throws(() => parseDaemonArgs(args), (e: unknown) => e instanceof UsageError && msg.test(e.message) && !e.message.includes('\n'));
    });
  }
});
