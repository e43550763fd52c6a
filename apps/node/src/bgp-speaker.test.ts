import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listenHost, sessionSource } from './bgp-speaker.js';

describe('BGP addresses of a node', () => {
  test('IPv4 only: listen on the node address, IPv4 sessions from it', () => {
    const cfg = { listenAddress: '198.51.100.1' };
    assert.equal(listenHost(cfg), '198.51.100.1');
    assert.equal(sessionSource(cfg, 'ipv4'), '198.51.100.1');
  });

  test('with IPv6: listen dual-stack, each session from the address of its family', () => {
    const cfg = { listenAddress: '198.51.100.1', listenAddress6: '2001:db8::1' };
    assert.equal(listenHost(cfg), '::');
    assert.equal(sessionSource(cfg, 'ipv4'), '198.51.100.1');
    assert.equal(sessionSource(cfg, 'ipv6'), '2001:db8::1');
  });
});
