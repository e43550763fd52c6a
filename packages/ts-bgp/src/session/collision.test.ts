import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collisionWinner } from './collision.js';

const out = { outgoing: true };
const inc = { outgoing: false };
const low = { routerId: '10.0.0.1', asn: 65000 };
const high = { routerId: '10.0.0.2', asn: 65000 };

describe('collisionWinner (RFC 4271 §6.8)', () => {
  test('the connection opened by the higher BGP identifier survives, on both sides', () => {
    // we are higher: our outgoing connection stays, whichever came first
    assert.equal(collisionWinner(high, low, out, inc), 'existing');
    assert.equal(collisionWinner(high, low, inc, out), 'newer');
    // we are lower: the peer's connection (incoming for us) stays
    assert.equal(collisionWinner(low, high, out, inc), 'newer');
    assert.equal(collisionWinner(low, high, inc, out), 'existing');
  });

  test('both speakers pick the same TCP connection', () => {
    // connection X: opened by `high`; Y: opened by `low`. Each side sees one as existing.
    const atHigh = collisionWinner(high, low, out /* X */, inc /* Y */) === 'existing' ? 'X' : 'Y';
    const atLow = collisionWinner(low, high, out /* Y */, inc /* X */) === 'existing' ? 'Y' : 'X';
    assert.equal(atHigh, 'X');
    assert.equal(atLow, 'X');
  });

  test('identifiers compare as numbers, not text', () => {
    assert.equal(collisionWinner({ routerId: '10.0.0.10', asn: 1 }, { routerId: '10.0.0.9', asn: 1 }, out, inc), 'existing');
  });

  test('equal identifiers (eBGP, RFC 6286): the higher AS keeps its connection', () => {
    assert.equal(collisionWinner({ routerId: '10.0.0.1', asn: 65002 }, { routerId: '10.0.0.1', asn: 65001 }, inc, out), 'newer');
    assert.equal(collisionWinner({ routerId: '10.0.0.1', asn: 65001 }, { routerId: '10.0.0.1', asn: 65002 }, inc, out), 'existing');
  });

  test('two connections in the same direction: the newer replaces the abandoned one', () => {
    assert.equal(collisionWinner(high, low, inc, inc), 'newer');
  });
});
