/**
 * The receive hot path: one decoded UPDATE into the RIB. Attribute sets are interned by their
 * wire bytes, prefixes are walked in the frame with numeric keys and go straight into the
 * Adj-RIB-In: no object per prefix unless an import policy asks to see each one.
 */
import { forEachIpv4Prefix, forEachIpv6Prefix, keyToPrefix, formatPrefix } from '../codec/prefix.js';
import { importLoop, type LocalIdentity } from '../rib/export.js';
import type { AttrInterner, AttrSet, Path, PrefixKey } from '../rib/path.js';
import type { Rib, SourceRib } from '../rib/rib.js';
import type { Family, NlriView, PathAttributes, UpdateMessage } from '../types.js';
import type { RoutePolicy } from './types.js';

export const formatKey = (key: PrefixKey): string => formatPrefix(keyToPrefix(key));

/** The per-neighbour state ingest needs. */
export interface IngestTarget {
  readonly address: string;
  readonly src: SourceRib;
  readonly importPolicy: RoutePolicy | undefined;
  /** attribute sets already checked for loops this session: the path to use, or null (rejected) */
  readonly accepted: Map<AttrSet, Path | null>;
}

export interface IngestEnv {
  rib: Rib;
  interner: AttrInterner;
  local: LocalIdentity;
}

/** Apply `msg`; returns the number of NLRI it announced. */
export function ingestUpdate(env: IngestEnv, nb: IngestTarget, msg: UpdateMessage): number {
  const { rib } = env;
  const src = nb.src;
  const withdrawAll = msg.action === 'treat-as-withdraw';
  let announced = 0;

  if (msg.withdrawn.count > 0) withdrawView(rib, src, msg.withdrawn);
  if (msg.mpUnreach) withdrawView(rib, src, msg.mpUnreach.withdrawn);

  if (msg.nlri.count > 0) {
    announced += msg.nlri.count;
    if (withdrawAll || !msg.attributes) withdrawView(rib, src, msg.nlri);
    else {
      const attrs = msg.attributes;
      const set = env.interner.intern(msg.attributesKey, () => attrs);
      announceView(env, nb, msg.nlri, set);
    }
  }
  const mp = msg.mpReach;
  if (mp && mp.nlri.count > 0) {
    announced += mp.nlri.count;
    if (withdrawAll || !msg.attributes) withdrawView(rib, src, mp.nlri);
    else {
      const attrs = msg.attributes;
      // the key includes the MP_REACH next hop bytes, so one set serves both families
      announceView(env, nb, mp.nlri, env.interner.intern(msg.attributesKey, () => attrs));
    }
  }
  return announced;
}

function withdrawView(rib: Rib, src: SourceRib, v: NlriView): void {
  if (v.count === 0) return;
  if (v.family === 'ipv4') forEachIpv4Prefix(v.buf, v.start, v.end, (key) => rib.withdraw(src, 'ipv4', key), v.addPath);
  else forEachIpv6Prefix(v.buf, v.start, v.end, (key) => rib.withdraw(src, 'ipv6', key), v.addPath);
}

function pathFor(env: IngestEnv, nb: IngestTarget, set: AttrSet): Path | null {
  let path = nb.accepted.get(set);
  if (path === undefined) {
    path = importLoop(set.attrs as PathAttributes, nb.src.source, env.local) ? null : nb.src.path(set);
    nb.accepted.set(set, path);
  }
  return path;
}

function announceView(env: IngestEnv, nb: IngestTarget, v: NlriView, set: AttrSet): void {
  const { rib } = env;
  const src = nb.src;
  const family: Family = v.family;
  const path = pathFor(env, nb, set);
  if (path === null) return withdrawView(rib, src, v);
  const policy = nb.importPolicy;
  if (!policy) {
    if (family === 'ipv4') forEachIpv4Prefix(v.buf, v.start, v.end, (key) => rib.update(src, 'ipv4', key, path), v.addPath);
    else forEachIpv6Prefix(v.buf, v.start, v.end, (key) => rib.update(src, 'ipv6', key, path), v.addPath);
    return;
  }
  const each = (key: PrefixKey): void => {
    const result = policy({ prefix: formatKey(key), family, peer: nb.address, attrs: set.attrs as PathAttributes });
    if (!result) rib.withdraw(src, family, key);
    else if (result === set.attrs) rib.update(src, family, key, path);
    else {
      const changed = env.interner.intern(`policy|${nb.address}|${JSON.stringify(result)}`, () => result);
      rib.update(src, family, key, src.path(changed));
    }
  };
  if (family === 'ipv4') forEachIpv4Prefix(v.buf, v.start, v.end, each, v.addPath);
  else forEachIpv6Prefix(v.buf, v.start, v.end, each, v.addPath);
}
