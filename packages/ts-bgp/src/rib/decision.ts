/**
 * The BGP decision process (RFC 4271 §9.1.2.2, RFC 4456 §9), as a comparison of two paths.
 * Each step is one row, so the order is readable and each tie-breaker is testable alone.
 */
import type { Path } from './path.js';

export const DEFAULT_LOCAL_PREF = 100;

export type DecisionStep =
  | 'local'
  | 'local-pref'
  | 'as-path'
  | 'origin'
  | 'med'
  | 'ebgp'
  | 'router-id'
  | 'cluster-list'
  | 'peer-address'
  | 'equal';

const lowerWins = (a: number, b: number): number => a - b;

/** RFC 4456 §9: a reflected route's ORIGINATOR_ID stands in for the BGP identifier. */
const originId = (p: Path): number => p.attrs.originatorId ?? p.source.routerId;

const STEPS: Array<[DecisionStep, (a: Path, b: Path) => number]> = [
  // locally originated routes beat learned ones (like a static route's preference over BGP)
  ['local', (a, b) => Number(b.source.local) - Number(a.source.local)],
  ['local-pref', (a, b) => (b.attrs.localPref ?? DEFAULT_LOCAL_PREF) - (a.attrs.localPref ?? DEFAULT_LOCAL_PREF)],
  ['as-path', (a, b) => lowerWins(a.attrs.asPathLen, b.attrs.asPathLen)],
  ['origin', (a, b) => lowerWins(a.attrs.attrs.origin, b.attrs.attrs.origin)],
  // MED only between routes from the same neighbouring AS (a missing MED is 0)
  ['med', (a, b) => (a.attrs.neighborAs === b.attrs.neighborAs ? lowerWins(a.attrs.med, b.attrs.med) : 0)],
  ['ebgp', (a, b) => Number(a.source.ibgp) - Number(b.source.ibgp)],
  ['router-id', (a, b) => lowerWins(originId(a), originId(b))],
  ['cluster-list', (a, b) => lowerWins(a.attrs.clusterListLen, b.attrs.clusterListLen)],
  [
    'peer-address',
    (a, b) => {
      const x = a.source.addressOrder;
      const y = b.source.addressOrder;
      return x === y ? 0 : x < y ? -1 : 1;
    },
  ],
];

/** Which path wins and the step that decided it. */
export function decide(a: Path, b: Path): { winner: Path; step: DecisionStep } {
  for (const [step, cmp] of STEPS) {
    const c = cmp(a, b);
    if (c !== 0) return { winner: c < 0 ? a : b, step };
  }
  return { winner: a, step: 'equal' };
}

/** Negative when `a` is better than `b`. */
export function comparePaths(a: Path, b: Path): number {
  if (a === b) return 0;
  for (const [, cmp] of STEPS) {
    const c = cmp(a, b);
    if (c !== 0) return c;
  }
  return 0;
}
