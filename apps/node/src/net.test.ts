import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bigintToIp, cidrContains, ipToBigint, parseCidr, formatCidr, sameSubnet, vtepMacFor } from './net.js';

test('IPv4 and IPv6 round-trip through bigints', () => {
  for (const ip of ['0.0.0.0', '192.168.1.200', '255.255.255.255'])
    assert.equal(bigintToIp(ipToBigint(ip), 'ipv4'), ip);
  for (const ip of ['::', '::1', 'fd80:24e2:f998:72d6::5', '2001:db8:0:1:2:3:4:5', '1::'])
    assert.equal(bigintToIp(ipToBigint(ip), 'ipv6'), ip);
});

test('containment and normalisation', () => {
  assert.equal(formatCidr(parseCidr('192.168.1.77/24')), '192.168.1.0/24');
  assert.equal(cidrContains('192.168.0.0/16', '192.168.3.0/26'), true);
  assert.equal(cidrContains('192.168.0.0/16', '192.169.0.0/26'), false);
  assert.equal(cidrContains('192.168.0.0/16', '0.0.0.0/0'), false);
  assert.equal(cidrContains('192.168.0.0/16', '192.168.9.9'), true);
  assert.equal(cidrContains('fd80:24e2:f998:72d6::/64', 'fd80:24e2:f998:72d6::40/122'), true);
  assert.equal(cidrContains('fd80:24e2:f998:72d6::/64', '192.168.0.0/26'), false);
  assert.equal(sameSubnet('198.51.100.1/24', '198.51.100.7'), true);
  assert.equal(sameSubnet('198.51.100.1/24', '203.0.113.7'), false);
});

test('VTEP MACs are stable, unicast and locally administered', () => {
  const mac = vtepMacFor('host-1');
  assert.equal(mac, vtepMacFor('host-1'));
  assert.notEqual(mac, vtepMacFor('host-2'));
  const first = parseInt(mac.slice(0, 2), 16);
  assert.equal(first & 0x03, 0x02);
});
