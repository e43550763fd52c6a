// The narrow etcd v3 key-value surface the store and watches use, so the client behind it can be
// the light JSON gateway one (kv-http.ts, default) or etcd3 over gRPC (kv-grpc.ts, loaded lazily).
import { TsnetError } from './errors.js';

/** A key-value as read; keys and values are text (our values are JSON). */
export interface KeyValue {
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
}

export interface RangeResult {
  /** Store revision the read was served at. */
  revision: number;
  kvs: KeyValue[];
  /** Number of keys in the range (also with countOnly, where kvs is empty). */
  count: number;
}

export interface TxnCompare {
  key: string;
  modRevision: number;
  op: '==' | '>';
}

export interface TxnRequest {
  /** All must hold (an empty list always holds). */
  compares: TxnCompare[];
  puts: { key: string; value: string }[];
  deletes: string[];
}

/** One change seen by a watch; a delete carries an empty value. */
export interface KvEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
}

export interface KvWatchHandlers {
  /** The watch is established (also after etcd accepted it and then cancels it). */
  onConnected(): void;
  /** Changes of one or more revisions, in order; `revision` is the response header revision. */
  onEvents(events: KvEvent[], revision: number): void;
  /** The stream broke (etcd down, connection lost); the watch is over, open a new one. */
  onDisconnected(err: Error): void;
  /** etcd cancelled the watch, typically because its start revision was compacted; it is over. */
  onCanceled(err: Error): void;
}

export interface KvWatch {
  cancel(): void;
}

export interface KvClient {
  range(key: string, opts?: { prefix?: boolean; countOnly?: boolean; keysOnly?: boolean }): Promise<RangeResult>;
  put(key: string, value: string): Promise<{ revision: number }>;
  deleteRange(key: string, opts?: { prefix?: boolean }): Promise<{ deleted: number; revision: number }>;
  txn(req: TxnRequest): Promise<{ succeeded: boolean; revision: number }>;
  /** Compacts history up to `revision` (physically; used by tests and tools). */
  compact(revision: number): Promise<void>;
  /**
   * Watches every key under `prefix` (with `rangeEnd`: every key in [prefix, rangeEnd)) from `startRevision`
   * on; handlers run later, never within this call.
   */
  watch(prefix: string, startRevision: number, handlers: KvWatchHandlers, rangeEnd?: Buffer): KvWatch;
  close(): void;
}

/**
 * etcd did not answer (connection refused or reset, deadline, member unavailable). `skipped` =
 * no attempt was made (the member is being avoided after failures), so it hides no better reason.
 */
export class KvUnavailableError extends Error {
  constructor(
    message: string,
    readonly skipped = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KvUnavailableError';
  }
}

/** The endpoint serves no JSON gateway (etcd runs with --enable-grpc-gateway=false): use gRPC. */
export class GatewayMissingError extends TsnetError {
  constructor(readonly endpoint: string) {
    super(`etcd at ${endpoint} has no JSON gateway (/v3 answered 404): set TSNET_ETCD_CLIENT=grpc or leave it unset`, 'etcd-no-gateway');
  }
}

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}
