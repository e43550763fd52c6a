// Pure pieces of the etcd JSON gateway protocol: the wire shapes (keys and values base64, int64
// as strings, defaults omitted), their decoding, and splitting a watch stream into messages.
import type { KeyValue, KvEvent, RangeResult } from './kv.js';

export interface WireHeader {
  revision?: string;
}

export interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
}

export interface WireRange {
  header?: WireHeader;
  kvs?: WireKeyValue[];
  count?: string;
}

export interface WireWatchResult {
  header?: WireHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: 'PUT' | 'DELETE'; kv?: WireKeyValue }[];
}

/** A gateway error body: unary `{error, message, code}`, streamed `{grpc_code, message, ...}`. */
export interface WireError {
  error?: string;
  message?: string;
  code?: number;
  grpc_code?: number;
  http_code?: number;
}

export const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');
const text = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString() : '');
const num = (s: string | number | undefined): number => (s === undefined ? 0 : Number(s));

export function decodeKeyValue(kv: WireKeyValue): KeyValue {
  return { key: text(kv.key), value: text(kv.value), modRevision: num(kv.mod_revision), createRevision: num(kv.create_revision) };
}

export function decodeRange(res: WireRange): RangeResult {
  return { revision: num(res.header?.revision), kvs: (res.kvs ?? []).map(decodeKeyValue), count: num(res.count) };
}

export function decodeEvents(res: WireWatchResult): KvEvent[] {
  return (res.events ?? []).map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', ...decodeKeyValue(e.kv ?? {}) }));
}

export const headerRevision = (res: { header?: WireHeader }): number => num(res.header?.revision);

/** gRPC codes meaning "no answer, try again/elsewhere": 4 deadline exceeded, 14 unavailable. */
export const isUnavailableCode = (code: number | undefined): boolean => code === 4 || code === 14;

/**
 * Splits a stream of concatenated JSON objects (the watch response body) into whole objects,
 * whatever the chunk boundaries: feed text as it arrives, get back the objects completed by it.
 */
export class JsonObjectSplitter {
  private buf = '';
  private pos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (; this.pos < this.buf.length; this.pos++) {
      const c = this.buf[this.pos];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{') {
        if (this.depth++ === 0) this.start = this.pos;
      } else if (c === '}' && this.depth > 0 && --this.depth === 0) {
        out.push(this.buf.slice(this.start, this.pos + 1));
        this.buf = this.buf.slice(this.pos + 1);
        this.pos = -1;
        this.start = -1;
      }
    }
    if (this.depth === 0) {
      // Only separators (newlines) left: drop them.
      this.buf = '';
      this.pos = 0;
    }
    return out;
  }
}
