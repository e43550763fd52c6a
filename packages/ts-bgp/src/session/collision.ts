/**
 * Connection collisions (RFC 4271 §6.8, RFC 6286 §2.3) as a pure rule: with two connections to
 * the same peer, both speakers keep the one opened by the speaker with the higher BGP identifier
 * (the higher AS number when the identifiers are equal), so they agree without talking.
 */
import { ipv4ToNumber } from '../rib/path.js';

export interface CollisionSide {
  routerId: string;
  asn: number;
}

/**
 * Which connection survives: `existing` (the one the session runs on) or `newer` (the second one,
 * whose OPEN just arrived). Two connections in the same direction mean the peer gave up on the
 * older one and dialled again (or we did), so the newer one wins.
 */
export function collisionWinner(
  local: CollisionSide,
  remote: CollisionSide,
  existing: { outgoing: boolean },
  newer: { outgoing: boolean },
): 'existing' | 'newer' {
  if (existing.outgoing === newer.outgoing) return 'newer';
  const l = ipv4ToNumber(local.routerId);
  const r = ipv4ToNumber(remote.routerId);
  const keepOutgoing = l !== r ? l > r : local.asn > remote.asn;
  return newer.outgoing === keepOutgoing ? 'newer' : 'existing';
}
