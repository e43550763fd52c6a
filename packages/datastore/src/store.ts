// The store core: typed get/list/put/delete/txn over etcd with every call time-bounded, retried
// while etcd is unreachable, and turned into a one-line TsnetError when it stays unreachable.
import { BadValueError, TsnetError, ConflictError, EtcdUnreachableError, type BadValue } from './errors.js';
import { decodeValue, encodeValue, idParts, Keys, type Kind, type RecordId, type RecordTypes } from './keys.js';
import { KvUnavailableError, type KeyValue, type KvClient } from './kv.js';
import { DEFAULT_TIMEOUT_MS, type DatastoreOptions } from './options.js';

/** A record as read, with the revisions needed for a conditional write. */
export interface Stored<T> {
  key: string;
  id: string[];
  value: T;
  /** Revision of the last write to the key: pass as `expectModRevision` to write only if unchanged. */
  modRevision: number;
  createRevision: number;
}

/** A stored record of any kind, discriminated by `kind`. */
export type AnyStored = { [K in Kind]: Stored<RecordTypes[K]> & { kind: K } }[Kind];

export interface ListResult<T> {
  items: Stored<T>[];
  /** Values under the kind's prefix that did not validate (reported, skipped). */
  bad: BadValue[];
  /** etcd revision the list was read at. */
  revision: number;
}

/** Condition of a transaction: the record's mod revision must equal `modRevision` (0 = absent). */
export interface TxnCondition {
  kind: Kind;
  id: RecordId;
  modRevision: number;
}

export type TxnOp =
  | { [K in Kind]: { op: 'put'; kind: K; id: RecordId; value: RecordTypes[K] } }[Kind]
  | { op: 'delete'; kind: Kind; id: RecordId };

export interface TxnResult {
  succeeded: boolean;
  /** Revision after the transaction (its writes carry this mod revision when it succeeded). */
  revision: number;
  /**
   * An earlier attempt failed without an answer (deadline, lost member) and was retried: when
   * `succeeded` is false, that earlier attempt may have been applied; check before redoing.
   */
  uncertain?: boolean;
}

/** Internal (raw-key) transaction parts, for guard keys outside the record model. */
export interface RawTxn {
  conditions: { key: string; modRevision: number }[];
  puts: { key: string; value: string }[];
  deletes: string[];
}

/** Typed, time-bounded access to the model; Datastore adds the domain helpers and watches. */
export class EtcdStore {
  readonly keys: Keys;
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  private closed = false;

  protected constructor(
    /** The raw etcd key-value client (for guard keys, tests and tools; prefer the typed API). */
    readonly kv: KvClient,
    private readonly opts: DatastoreOptions,
  ) {
    this.keys = new Keys(opts.prefix);
    this.endpoints = opts.endpoints;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Things to stop before the client closes (open watches). */
  protected readonly closers = new Set<() => Promise<void>>();

  /** Stops open watches, then closes the etcd client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.closers].map((c) => c().catch(() => undefined)));
    this.kv.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs one etcd call, retrying while etcd is unreachable (unavailable, deadline, all members
   * skipped) for up to timeoutMs, then throws EtcdUnreachableError naming the endpoints.
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    let delay = 50;
    let lastReal: unknown;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        if (!(err instanceof KvUnavailableError && err.skipped)) lastReal = err;
        const elapsed = Date.now() - start;
        if (elapsed >= this.timeoutMs || this.closed) throw unreachable(this.endpoints, this.timeoutMs, lastReal ?? err);
        await new Promise((r) => setTimeout(r, Math.min(delay, this.timeoutMs - elapsed)));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /** Current etcd revision (also a cheap reachability probe). */
  async revision(): Promise<number> {
    const res = await this.call(() => this.kv.range(this.keys.key('clusterConfig', []), { countOnly: true }));
    return res.revision;
  }

  /** Decodes one key-value, or reports why it is bad. */
  decode<K extends Kind>(kind: K, kv: KeyValue): Stored<RecordTypes[K]> | BadValue {
    const key = kv.key;
    const parsed = this.keys.parse(key);
    if (!parsed || parsed.kind !== kind) return { key, reason: `key does not belong to a ${kind} record` };
    try {
      const value = decodeValue(kind, kv.value);
      return { key, id: parsed.id, value, modRevision: kv.modRevision, createRevision: kv.createRevision };
    } catch (err) {
      return { key, reason: (err as Error).message };
    }
  }

  /** Decodes a key-value of whatever kind its key says. */
  decodeAny(kv: KeyValue): AnyStored | BadValue | undefined {
    const key = kv.key;
    const parsed = this.keys.parse(key);
    if (!parsed) return this.keys.isInternal(key) ? undefined : { key, reason: 'key outside the tsnet layout' };
    const r = this.decode(parsed.kind, kv);
    return 'reason' in r ? r : ({ ...r, kind: parsed.kind } as AnyStored);
  }

  reportBad(bad: BadValue): void {
    this.opts.onBadValue?.(bad);
  }

  /** One record, or undefined when absent; throws BadValueError (naming the key) when invalid. */
  async get<K extends Kind>(kind: K, id: RecordId): Promise<Stored<RecordTypes[K]> | undefined> {
    const key = this.keys.key(kind, id);
    const res = await this.call(() => this.kv.range(key));
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const r = this.decode(kind, kv);
    if ('reason' in r) throw new BadValueError(r.key, r.reason);
    return r;
  }

  /** All records of a kind (optionally below leading id parts, e.g. one node's peers). */
  async list<K extends Kind>(kind: K, parent: readonly string[] = []): Promise<ListResult<RecordTypes[K]>> {
    const prefix = this.keys.kindPrefix(kind, parent);
    const res = await this.call(() => this.kv.range(prefix, { prefix: true }));
    const out: ListResult<RecordTypes[K]> = { items: [], bad: [], revision: res.revision };
    for (const kv of res.kvs) {
      const r = this.decode(kind, kv);
      if ('reason' in r) {
        out.bad.push(r);
        this.reportBad(r);
      } else out.items.push(r);
    }
    return out;
  }

  /** Counts keys of a kind without reading values. */
  async count(kind: Kind, parent: readonly string[] = []): Promise<number> {
    const prefix = this.keys.kindPrefix(kind, parent);
    return (await this.call(() => this.kv.range(prefix, { prefix: true, countOnly: true }))).count;
  }

  /**
   * Writes a record. With `expectModRevision` (0 = must not exist) the write happens only if the
   * key is unchanged since read; returns false when that condition failed.
   */
  async put<K extends Kind>(kind: K, id: RecordId, value: RecordTypes[K], opts: { expectModRevision?: number } = {}): Promise<boolean> {
    if (opts.expectModRevision === undefined) {
      const key = this.keys.key(kind, id);
      const encoded = encodeValue(kind, value);
      await this.call(() => this.kv.put(key, encoded));
      return true;
    }
    const r = await this.txn([{ kind, id, modRevision: opts.expectModRevision }], [{ op: 'put', kind, id, value } as TxnOp]);
    return r.succeeded;
  }

  /** Deletes a record; returns whether it existed (and, with expectModRevision, was unchanged). */
  async delete(kind: Kind, id: RecordId, opts: { expectModRevision?: number } = {}): Promise<boolean> {
    const key = this.keys.key(kind, id);
    if (opts.expectModRevision === undefined) {
      const res = await this.call(() => this.kv.deleteRange(key));
      return res.deleted > 0;
    }
    if (opts.expectModRevision === 0) return false;
    const r = await this.txn([{ kind, id, modRevision: opts.expectModRevision }], [{ op: 'delete', kind, id }]);
    return r.succeeded;
  }

  /** Deletes every record of a kind below leading id parts; returns how many. */
  async deleteAll(kind: Kind, parent: readonly string[]): Promise<number> {
    const prefix = this.keys.kindPrefix(kind, parent);
    const res = await this.call(() => this.kv.deleteRange(prefix, { prefix: true }));
    return res.deleted;
  }

  /** Atomic compare-and-write over records: all conditions hold → all ops applied. */
  async txn(conditions: readonly TxnCondition[], ops: readonly TxnOp[]): Promise<TxnResult> {
    return this.rawTxn({
      conditions: conditions.map((c) => ({ key: this.keys.key(c.kind, c.id), modRevision: c.modRevision })),
      puts: ops.flatMap((o) => (o.op === 'put' ? [{ key: this.keys.key(o.kind, o.id), value: encodeValue(o.kind, o.value as never) }] : [])),
      deletes: ops.flatMap((o) => (o.op === 'delete' ? [this.keys.key(o.kind, o.id)] : [])),
    });
  }

  /** Transaction on raw keys (guard keys); prefer txn(). */
  async rawTxn(t: RawTxn): Promise<TxnResult> {
    let tries = 0;
    const compares = t.conditions.map((c) => ({ key: c.key, modRevision: c.modRevision, op: '==' as const }));
    const res = await this.call(() => {
      tries++;
      return this.kv.txn({ compares, puts: t.puts, deletes: t.deletes });
    });
    const out: TxnResult = { succeeded: res.succeeded, revision: res.revision };
    if (tries > 1) out.uncertain = true;
    return out;
  }

  /** Mod revision of a raw key (0 when absent). */
  async rawModRevision(key: string): Promise<number> {
    const res = await this.call(() => this.kv.range(key));
    return res.kvs[0]?.modRevision ?? 0;
  }

  /**
   * Read-modify-write with optimistic concurrency: `fn` gets the current value (undefined when
   * absent) and returns the new one (undefined = delete). Retries on conflict up to `attempts`.
   */
  async update<K extends Kind>(
    kind: K,
    id: RecordId,
    fn: (current: RecordTypes[K] | undefined) => RecordTypes[K] | undefined,
    opts: { attempts?: number } = {},
  ): Promise<RecordTypes[K] | undefined> {
    const attempts = opts.attempts ?? 20;
    for (let i = 0; i < attempts; i++) {
      const cur = await this.get(kind, id);
      const next = fn(cur?.value);
      const rev = cur?.modRevision ?? 0;
      if (next === undefined) {
        if (!cur || (await this.delete(kind, id, { expectModRevision: rev }))) return undefined;
      } else if (await this.put(kind, id, next, { expectModRevision: rev })) return next;
    }
    throw new ConflictError(`updating ${kind} ${idParts(id).join('/')}`, attempts);
  }
}

/** The user-facing error for a call that never got an answer: TLS trouble is named as such. */
function unreachable(endpoints: readonly string[], timeoutMs: number, cause: unknown): TsnetError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  // gRPC and Node's https word TLS failures differently ("14 UNAVAILABLE: ... SSL routines...",
  // "unable to verify the first certificate", "... alert bad certificate"): both are matched.
  if (/ssl|tls|certificate|handshake|alert|self.signed|altname/i.test(msg)) {
    const reason =
      /SSL routines:[^:]*:([^:]+)/.exec(msg)?.[1] ??
      /Last error: (?:\w*Error: )?([^.]+)/.exec(msg)?.[1] ??
      msg.replace(/^\d+ UNAVAILABLE: /, '').split('\n')[0]!.slice(0, 120);
    return new TsnetError(
      `TLS with etcd at ${endpoints.join(',')} failed (${reason}): check --etcd-ca, --etcd-cert, --etcd-key (ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE)`,
      'etcd-tls',
      { cause },
    );
  }
  return new EtcdUnreachableError(endpoints, timeoutMs, cause);
}

/** Errors that mean "etcd did not answer" rather than "etcd said no". */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof KvUnavailableError) return true;
  return /deadline|unavailable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|No connection established|failed to connect/i.test(err.message);
}
