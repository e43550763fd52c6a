/**
 * What we put in our OPEN and what we demand of the peer's (RFC 4271 §6.2, RFC 6286, RFC 4724).
 * Pure: config in, capabilities or a BgpError out.
 */
import { openError } from '../codec/errors.js';
import { peerAsOf } from '../codec/messages.js';
import { OpenSubcode, type Capabilities, type Family, type OpenMessage } from '../types.js';

export interface LocalOpenConfig {
  asn: number;
  routerId: string;
  families: readonly Family[];
  /** undefined = graceful restart not advertised */
  gracefulRestart?: { restartTimeSec: number; restarting: boolean; forwardingPreserved: boolean };
}

export function localCapabilities(c: LocalOpenConfig): Partial<Capabilities> {
  const caps: Partial<Capabilities> = {
    multiprotocol: [...c.families],
    routeRefresh: true,
    fourOctetAs: c.asn,
  };
  if (c.gracefulRestart) {
    caps.gracefulRestart = {
      restartState: c.gracefulRestart.restarting,
      restartTimeSec: Math.min(c.gracefulRestart.restartTimeSec, 4095),
      families: c.families.map((family) => ({ family, forwardingState: c.gracefulRestart!.forwardingPreserved })),
    };
  }
  return caps;
}

/** The peer's OPEN against its configuration; throws the BgpError to send (codec checks ran already). */
export function checkOpen(open: OpenMessage, expect: { asn: number; localAsn: number; localRouterId: string }): void {
  const asn = peerAsOf(open);
  if (asn !== expect.asn) {
    throw openError(OpenSubcode.BAD_PEER_AS, `peer announced AS ${asn}, configured AS ${expect.asn}: fix the peer's AS`, asData(open.myAs));
  }
  // RFC 6286: identifiers must differ within an AS (eBGP peers may share one)
  if (asn === expect.localAsn && open.bgpId === expect.localRouterId) {
    throw openError(OpenSubcode.BAD_BGP_IDENTIFIER, `peer uses our own router id ${open.bgpId}`);
  }
}

const asData = (myAs: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(myAs & 0xffff, 0);
  return b;
};
