/** NOTIFICATION codes as text for logs, events and `lastError` (RFC 4271 §4.5, RFC 4486, RFC 8203). */
import { ErrorCode } from '../types.js';

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'FSM Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};
const CEASE_NAMES: Record<number, string> = {
  1: 'Maximum Number of Prefixes Reached',
  2: 'Administrative Shutdown',
  3: 'Peer De-configured',
  4: 'Administrative Reset',
  5: 'Connection Rejected',
  6: 'Other Configuration Change',
  7: 'Connection Collision Resolution',
  8: 'Out of Resources',
};

/** "NOTIFICATION 6/2 Cease (Administrative Shutdown)" */
export function describeNotification(code: number, subcode: number, data?: Buffer): string {
  const name = CODE_NAMES[code] ?? `code ${code}`;
  const sub = code === ErrorCode.CEASE ? CEASE_NAMES[subcode] : undefined;
  let text = `NOTIFICATION ${code}/${subcode} ${name}${sub ? ` (${sub})` : ''}`;
  // RFC 8203 shutdown communication: a length byte then UTF-8 text
  if (code === ErrorCode.CEASE && (subcode === 2 || subcode === 4) && data && data.length > 1 && data[0] === data.length - 1) {
    text += `: ${data.subarray(1).toString('utf8')}`;
  }
  return text;
}
