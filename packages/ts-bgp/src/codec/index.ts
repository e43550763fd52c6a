// Public surface of the BGP-4 codec (pure: no sockets, no timers).
export { BgpError, worseAction } from './errors.js';
export { Writer, ipv4ToUint, uintToIpv4, ipv6ToBytes, readIpv4, readIpv6 } from './bytes.js';
export { FrameReader, checkHeader } from './frame.js';
export { decodeMessage } from './decode.js';
export {
  BGP_VERSION,
  KEEPALIVE,
  buildOpen,
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  peerAsOf,
} from './messages.js';
export {
  afiOfFamily,
  decodeCapabilities,
  emptyCapabilities,
  encodeCapabilities,
  negotiate,
  unicastFamily,
  type NegotiatedSession,
} from './capabilities.js';
export {
  ATTRIBUTES,
  ATTRIBUTE_BY_CODE,
  decodeAsPath,
  encodeAsPath,
  encodeAttributes,
  type AttrContext,
  type AttrDescriptor,
} from './attributes.js';
export { decodeUpdate, mergeAs4Path, type UpdateDecodeOptions } from './update.js';
export {
  encodeEndOfRib,
  encodeUpdate,
  encodeUpdates,
  encodeUpdatesByKey,
  encodeWithdrawals,
  type OutboundPrefix,
  type UpdateEncodeOptions,
} from './update-encode.js';
export {
  countNlri,
  emptyNlri,
  forEachIpv4Prefix,
  forEachIpv6Prefix,
  forEachPrefix,
  formatPrefix,
  ipv4Key,
  ipv4KeyAddr,
  ipv4KeyLen,
  ipv4KeyToPrefix,
  ipv6Key,
  ipv6KeyToPrefix,
  keyToPrefix,
  maxPrefixLen,
  nlriToPrefixes,
  parsePrefix,
  prefixKey,
  prefixWireLen,
} from './prefix.js';
