/**
 * The shared vocabulary of @bgp/ts-bgp: wire constants and the decoded values that the codec
 * produces and the FSM/RIB consume. Pure data, no behaviour.
 */

export const BGP_MARKER_LEN = 16;
export const BGP_HEADER_LEN = 19;
export const BGP_MAX_MESSAGE_LEN = 4096;
export const AS_TRANS = 23456;
export const BGP_PORT = 179;

/** Message type codes (RFC 4271 §4.1, RFC 2918). */
export const enum MessageType {
  OPEN = 1,
  UPDATE = 2,
  NOTIFICATION = 3,
  KEEPALIVE = 4,
  ROUTE_REFRESH = 5,
}

/** Address family identifiers (IANA) and the one SAFI we route. */
export const enum Afi {
  IPV4 = 1,
  IPV6 = 2,
}
export const enum Safi {
  UNICAST = 1,
}
export type Family = 'ipv4' | 'ipv6';
export const familyOfAfi = (afi: number): Family | undefined =>
  afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : undefined;

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 4486, RFC 7313). */
export const enum ErrorCode {
  MESSAGE_HEADER = 1,
  OPEN_MESSAGE = 2,
  UPDATE_MESSAGE = 3,
  HOLD_TIMER_EXPIRED = 4,
  FSM = 5,
  CEASE = 6,
  ROUTE_REFRESH = 7,
}
export const enum HeaderSubcode {
  CONNECTION_NOT_SYNCHRONIZED = 1,
  BAD_MESSAGE_LENGTH = 2,
  BAD_MESSAGE_TYPE = 3,
}
export const enum OpenSubcode {
  UNSUPPORTED_VERSION = 1,
  BAD_PEER_AS = 2,
  BAD_BGP_IDENTIFIER = 3,
  UNSUPPORTED_OPTIONAL_PARAMETER = 4,
  UNACCEPTABLE_HOLD_TIME = 6,
  UNSUPPORTED_CAPABILITY = 7,
}
export const enum UpdateSubcode {
  MALFORMED_ATTRIBUTE_LIST = 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2,
  MISSING_WELL_KNOWN_ATTRIBUTE = 3,
  ATTRIBUTE_FLAGS_ERROR = 4,
  ATTRIBUTE_LENGTH_ERROR = 5,
  INVALID_ORIGIN_ATTRIBUTE = 6,
  INVALID_NEXT_HOP_ATTRIBUTE = 8,
  OPTIONAL_ATTRIBUTE_ERROR = 9,
  INVALID_NETWORK_FIELD = 10,
  MALFORMED_AS_PATH = 11,
}
export const enum CeaseSubcode {
  MAX_PREFIXES = 1,
  ADMIN_SHUTDOWN = 2,
  PEER_DECONFIGURED = 3,
  ADMIN_RESET = 4,
  CONNECTION_REJECTED = 5,
  OTHER_CONFIG_CHANGE = 6,
  CONNECTION_COLLISION = 7,
  OUT_OF_RESOURCES = 8,
}

/** Path attribute type codes (IANA). */
export const enum AttrType {
  ORIGIN = 1,
  AS_PATH = 2,
  NEXT_HOP = 3,
  MED = 4,
  LOCAL_PREF = 5,
  ATOMIC_AGGREGATE = 6,
  AGGREGATOR = 7,
  COMMUNITIES = 8,
  ORIGINATOR_ID = 9,
  CLUSTER_LIST = 10,
  MP_REACH_NLRI = 14,
  MP_UNREACH_NLRI = 15,
  AS4_PATH = 17,
  AS4_AGGREGATOR = 18,
  LARGE_COMMUNITY = 32,
}
export const enum AttrFlag {
  OPTIONAL = 0x80,
  TRANSITIVE = 0x40,
  PARTIAL = 0x20,
  EXTENDED_LENGTH = 0x10,
}

export const enum Origin {
  IGP = 0,
  EGP = 1,
  INCOMPLETE = 2,
}
export const enum AsPathSegmentType {
  AS_SET = 1,
  AS_SEQUENCE = 2,
  /** RFC 5065 confederation segments: accepted on decode, never counted in path length */
  AS_CONFED_SEQUENCE = 3,
  AS_CONFED_SET = 4,
}
export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

/** A prefix as users and the API see it. `addr` is the dotted/colon text form of the network. */
export interface Prefix {
  family: Family;
  addr: string;
  len: number;
}

/** An attribute the codec does not know, kept as bytes (optional transitive ones are passed on). */
export interface RawAttribute {
  flags: number;
  type: number;
  value: Buffer;
}

/**
 * Decoded path attributes of one UPDATE (MP_REACH/MP_UNREACH are carried separately on the
 * UpdateMessage). Absent optional attributes are undefined. AS_PATH is always the merged 4-octet
 * view (AS4_PATH reconciled per RFC 6793 when the session is 2-octet).
 */
export interface PathAttributes {
  origin: Origin;
  asPath: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  largeCommunities?: Array<[number, number, number]>;
  /** IPv6 next hop of MP_REACH_NLRI (global, plus link-local when the next hop is 32 bytes) */
  nextHopV6?: string;
  nextHopLinkLocal?: string;
  /** unknown optional transitive attributes (Partial bit set when re-advertised) */
  unknown?: RawAttribute[];
}

/** Per-session options that change how bytes are read and written (GoBGP's marshalling options). */
export interface SessionCodecOptions {
  /** both sides announced the 4-octet AS capability */
  fourOctetAs: boolean;
  /** families for which add-path receive was negotiated (path identifiers precede NLRI) */
  addPathReceive?: ReadonlySet<Family>;
  addPathSend?: ReadonlySet<Family>;
}

export interface Capability {
  code: number;
  value: Buffer;
}
export const enum CapabilityCode {
  MULTIPROTOCOL = 1,
  ROUTE_REFRESH = 2,
  GRACEFUL_RESTART = 64,
  FOUR_OCTET_AS = 65,
  ADD_PATH = 69,
  ENHANCED_ROUTE_REFRESH = 70,
}

export interface GracefulRestartCapability {
  restartState: boolean; // R bit
  restartTimeSec: number;
  families: Array<{ family: Family; forwardingState: boolean }>;
}

/** The capabilities of one OPEN, decoded; unknown ones are kept in `unknown` and ignored. */
export interface Capabilities {
  multiprotocol: Family[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  fourOctetAs?: number;
  gracefulRestart?: GracefulRestartCapability;
  addPath: Array<{ family: Family; send: boolean; receive: boolean }>;
  unknown: Capability[];
}

export interface OpenMessage {
  type: MessageType.OPEN;
  version: number;
  /** the 2-octet My AS field (AS_TRANS when the real AS needs 4 octets) */
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capabilities;
}

export interface NotificationMessage {
  type: MessageType.NOTIFICATION;
  code: number;
  subcode: number;
  data: Buffer;
}

export interface KeepaliveMessage {
  type: MessageType.KEEPALIVE;
}

export interface RouteRefreshMessage {
  type: MessageType.ROUTE_REFRESH;
  family: Family;
  /** RFC 7313 demarcation: 0 normal, 1 BoRR, 2 EoRR */
  subtype: number;
}

// ---- UPDATE as decoded by the codec (appended by the codec) ----

/**
 * How the receiver must handle an UPDATE after decoding (RFC 7606 §2), most severe first:
 * 'session-reset' → send the NOTIFICATION of the first error and close;
 * 'treat-as-withdraw' → withdraw every prefix the UPDATE announces (body NLRI and MP_REACH NLRI)
 *   in addition to its withdrawn routes; 'attribute-discard' → the broken attributes were dropped,
 *   use the rest as usual; 'none' → clean.
 */
export type UpdateAction = 'none' | 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

/** One error found in an UPDATE (the codec's BgpError implements this). */
export interface UpdateError {
  code: number;
  subcode: number;
  data: Buffer;
  message: string;
  action: UpdateAction;
  /** the path attribute type code concerned, when the error is about one attribute */
  attrType?: number;
}

/**
 * A validated run of NLRI inside a received buffer, read without materializing prefixes:
 * use forEachIpv4Prefix / forEachIpv6Prefix / nlriToPrefixes. `count` = number of prefixes.
 */
export interface NlriView {
  family: Family;
  buf: Buffer;
  start: number;
  end: number;
  count: number;
  /** each prefix is preceded by a 4-byte path identifier (RFC 7911) */
  addPath: boolean;
}

export interface MpReach {
  family: Family;
  /** next hop text (IPv4 or IPv6 global) */
  nextHop: string;
  linkLocalNextHop?: string;
  nlri: NlriView;
}

export interface MpUnreach {
  family: Family;
  withdrawn: NlriView;
}

export interface UpdateMessage {
  type: MessageType.UPDATE;
  /** IPv4 withdrawn routes field */
  withdrawn: NlriView;
  /** IPv4 NLRI field */
  nlri: NlriView;
  /** decoded attributes; undefined when the UPDATE carries no path attributes */
  attributes?: PathAttributes;
  /**
   * Identity of the attribute set, for interning: the raw bytes (latin1) of every attribute except
   * MP_REACH/MP_UNREACH, plus the MP_REACH next hop bytes. Equal keys ⇔ equal decoded attributes.
   */
  attributesKey: string;
  /** byte range of the path attribute block in the frame */
  attrStart: number;
  attrEnd: number;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** set when this UPDATE is the End-of-RIB marker of a family (RFC 4724 §2) */
  endOfRib?: Family;
  action: UpdateAction;
  errors: UpdateError[];
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;
