/**
 * Capabilities Optional Parameter (RFC 5492) and the capabilities tsnet speaks: multiprotocol
 * (RFC 4760), route refresh (RFC 2918) and enhanced route refresh (RFC 7313), graceful restart
 * (RFC 4724), 4-octet AS (RFC 6793), add-path (RFC 7911). Unknown capabilities are kept verbatim.
 */
import {
  Afi,
  CapabilityCode,
  ErrorCode,
  Safi,
  familyOfAfi,
  type Capabilities,
  type Capability,
  type Family,
  type GracefulRestartCapability,
  type SessionCodecOptions,
} from '../types.js';
import { BgpError } from './errors.js';

export const emptyCapabilities = (): Capabilities => ({
  multiprotocol: [],
  routeRefresh: false,
  enhancedRouteRefresh: false,
  addPath: [],
  unknown: [],
});

export const afiOfFamily = (f: Family): number => (f === 'ipv4' ? Afi.IPV4 : Afi.IPV6);

/** The unicast family of an AFI/SAFI pair, or undefined for anything we do not route. */
export const unicastFamily = (afi: number, safi: number): Family | undefined =>
  safi === Safi.UNICAST ? familyOfAfi(afi) : undefined;

const malformed = (what: string): BgpError =>
  // RFC 4271 §6.2: a recognized but malformed optional parameter → OPEN error, subcode 0
  new BgpError(ErrorCode.OPEN_MESSAGE, 0, `malformed ${what} capability`);

/** Decode the capability TLVs in buf[start, end) into `caps`; throws BgpError when malformed. */
export function decodeCapabilities(buf: Buffer, start: number, end: number, caps: Capabilities): void {
  let p = start;
  while (p < end) {
    if (p + 2 > end) throw malformed('truncated');
    const code = buf[p]!;
    const len = buf[p + 1]!;
    const v = p + 2;
    p = v + len;
    if (p > end) throw malformed(`code ${code} (length overrun)`);
    switch (code) {
      case CapabilityCode.MULTIPROTOCOL: {
        if (len !== 4) throw malformed('multiprotocol');
        const f = unicastFamily(buf.readUInt16BE(v), buf[v + 3]!);
        if (f === undefined) caps.unknown.push({ code, value: Buffer.from(buf.subarray(v, p)) });
        else if (!caps.multiprotocol.includes(f)) caps.multiprotocol.push(f);
        break;
      }
      case CapabilityCode.ROUTE_REFRESH:
        caps.routeRefresh = true;
        break;
      case CapabilityCode.ENHANCED_ROUTE_REFRESH:
        caps.enhancedRouteRefresh = true;
        break;
      case CapabilityCode.FOUR_OCTET_AS:
        if (len !== 4) throw malformed('4-octet AS');
        caps.fourOctetAs = buf.readUInt32BE(v);
        break;
      case CapabilityCode.GRACEFUL_RESTART: {
        if (len < 2 || (len - 2) % 4 !== 0) throw malformed('graceful restart');
        const head = buf.readUInt16BE(v);
        const gr: GracefulRestartCapability = {
          restartState: (head & 0x8000) !== 0,
          restartTimeSec: head & 0x0fff,
          families: [],
        };
        for (let q = v + 2; q < p; q += 4) {
          const f = unicastFamily(buf.readUInt16BE(q), buf[q + 2]!);
          if (f) gr.families.push({ family: f, forwardingState: (buf[q + 3]! & 0x80) !== 0 });
        }
        caps.gracefulRestart = gr;
        break;
      }
      case CapabilityCode.ADD_PATH: {
        if (len % 4 !== 0) throw malformed('add-path');
        for (let q = v; q < p; q += 4) {
          const f = unicastFamily(buf.readUInt16BE(q), buf[q + 2]!);
          const sr = buf[q + 3]!;
          if (sr < 1 || sr > 3) throw malformed('add-path (send/receive value)');
          if (f) caps.addPath.push({ family: f, receive: (sr & 1) !== 0, send: (sr & 2) !== 0 });
        }
        break;
      }
      default:
        caps.unknown.push({ code, value: Buffer.from(buf.subarray(v, p)) });
    }
  }
}

const tlv = (code: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([code, value.length]), value]);

const afiSafi = (f: Family, extra?: number): number[] => {
  const afi = afiOfFamily(f);
  return extra === undefined ? [afi >> 8, afi & 255, Safi.UNICAST] : [afi >> 8, afi & 255, Safi.UNICAST, extra];
};

/** Encode capabilities as TLVs (code, length, value), one Buffer each, in a stable order. */
export function encodeCapabilities(caps: Capabilities): Buffer[] {
  const out: Buffer[] = [];
  for (const f of caps.multiprotocol) {
    const afi = afiOfFamily(f);
    out.push(tlv(CapabilityCode.MULTIPROTOCOL, Buffer.from([afi >> 8, afi & 255, 0, Safi.UNICAST]))); // AFI, reserved, SAFI
  }
  if (caps.routeRefresh) out.push(tlv(CapabilityCode.ROUTE_REFRESH, Buffer.alloc(0)));
  if (caps.enhancedRouteRefresh) out.push(tlv(CapabilityCode.ENHANCED_ROUTE_REFRESH, Buffer.alloc(0)));
  if (caps.gracefulRestart) {
    const gr = caps.gracefulRestart;
    const head = (gr.restartState ? 0x8000 : 0) | (gr.restartTimeSec & 0x0fff);
    const bytes = [head >> 8, head & 255];
    for (const f of gr.families) bytes.push(...afiSafi(f.family, f.forwardingState ? 0x80 : 0));
    out.push(tlv(CapabilityCode.GRACEFUL_RESTART, Buffer.from(bytes)));
  }
  if (caps.fourOctetAs !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(caps.fourOctetAs >>> 0, 0);
    out.push(tlv(CapabilityCode.FOUR_OCTET_AS, v));
  }
  if (caps.addPath.length > 0) {
    const bytes: number[] = [];
    for (const a of caps.addPath) bytes.push(...afiSafi(a.family, (a.receive ? 1 : 0) | (a.send ? 2 : 0)));
    out.push(tlv(CapabilityCode.ADD_PATH, Buffer.from(bytes)));
  }
  for (const c of caps.unknown) out.push(tlv(c.code, c.value));
  return out;
}

/** What two OPENs agree on: the codec options for this session and the per-family features. */
export interface NegotiatedSession {
  codec: SessionCodecOptions;
  /** families both sides announced (IPv4 unicast when a side sent no multiprotocol capability) */
  families: Family[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** the peer's graceful restart capability, its families limited to the negotiated ones */
  peerGracefulRestart?: GracefulRestartCapability;
  /** our graceful restart capability, when both sides announced one (RFC 4724 §3) */
  localGracefulRestart?: GracefulRestartCapability;
}

const announcedFamilies = (c: Capabilities): Family[] => (c.multiprotocol.length > 0 ? c.multiprotocol : ['ipv4']);

export function negotiate(local: Capabilities, remote: Capabilities): NegotiatedSession {
  const remoteFamilies = announcedFamilies(remote);
  const families = announcedFamilies(local).filter((f) => remoteFamilies.includes(f));
  const addPathSend = new Set<Family>();
  const addPathReceive = new Set<Family>();
  for (const f of families) {
    const l = local.addPath.find((a) => a.family === f);
    const r = remote.addPath.find((a) => a.family === f);
    if (l?.send && r?.receive) addPathSend.add(f);
    if (l?.receive && r?.send) addPathReceive.add(f);
  }
  const codec: SessionCodecOptions = {
    fourOctetAs: local.fourOctetAs !== undefined && remote.fourOctetAs !== undefined,
  };
  if (addPathSend.size > 0) codec.addPathSend = addPathSend;
  if (addPathReceive.size > 0) codec.addPathReceive = addPathReceive;
  const result: NegotiatedSession = {
    codec,
    families,
    routeRefresh: local.routeRefresh && remote.routeRefresh,
    enhancedRouteRefresh: local.enhancedRouteRefresh && remote.enhancedRouteRefresh,
  };
  if (remote.gracefulRestart && local.gracefulRestart) {
    const only = (gr: GracefulRestartCapability): GracefulRestartCapability => ({
      ...gr,
      families: gr.families.filter((f) => families.includes(f.family)),
    });
    result.peerGracefulRestart = only(remote.gracefulRestart);
    result.localGracefulRestart = only(local.gracefulRestart);
  }
  return result;
}

/** Unknown capabilities by code (RFC 5492: kept, ignored). */
export const unknownCapability = (caps: Capabilities, code: number): Capability | undefined =>
  caps.unknown.find((c) => c.code === code);
