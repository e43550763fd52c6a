// A watch over the model: an initial snapshot (or a resume point), then every change exactly once
// in revision order. Across a lost connection it re-watches from the last revision it delivered
// (with backoff); when that revision was compacted it delivers a fresh full snapshot instead.
import type { KeyValue, KvEvent, KvWatch } from './kv.js';
import type { BadValue } from './errors.js';
import type { Kind } from './keys.js';
import type { AnyStored, EtcdStore } from './store.js';

export type WatchEvent =
  | (AnyStored & { type: 'put' })
  | { type: 'delete'; kind: Kind; key: string; id: string[]; modRevision: number }
  /** A value that did not validate (foreign or corrupt); reported with its key, never thrown. */
  | { type: 'bad'; key: string; reason: string; modRevision: number };

/** Full state at one revision. */
export interface Snapshot {
  revision: number;
  records: AnyStored[];
  bad: BadValue[];
}

export type WatchStatus = 'connected' | 'disconnected' | 'resync';

export interface WatchHandlers {
  /**
   * Full state: first (unless resuming) and again when resuming became impossible (compaction).
   * Replace what you hold with it. Awaited before any later event is delivered.
   */
  onSnapshot?(snapshot: Snapshot): void | Promise<void>;
  /** One change; awaited before the next is delivered. */
  onEvent(event: WatchEvent): void | Promise<void>;
  /** Connection changes, for logs and metrics. */
  onStatus?(status: WatchStatus, err?: Error): void;
  /** A handler threw (the watch continues). */
  onError?(err: Error): void;
}

export interface WatchOptions {
  /** Kinds to deliver (default: all). */
  kinds?: readonly Kind[];
  /**
   * Resume: deliver changes after this revision (a previous watch's `revision`, or a snapshot's)
   * instead of starting with a snapshot.
   */
  resumeAfter?: number;
}

const MAX_BACKOFF_MS = 5000;

export class DatastoreWatch {
  /** Last revision whose changes were all delivered. */
  revision = 0;
  private watcher: KvWatch | undefined;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private backoffMs = 100;
  private timer: NodeJS.Timeout | undefined;
  private readonly kinds: ReadonlySet<Kind> | undefined;

  constructor(
    private readonly ds: EtcdStore,
    private readonly handlers: WatchHandlers,
    opts: WatchOptions = {},
  ) {
    this.kinds = opts.kinds ? new Set(opts.kinds) : undefined;
    if (opts.resumeAfter !== undefined) this.revision = opts.resumeAfter;
  }

  /** Initial snapshot (throws EtcdUnreachableError if etcd does not answer), then the watch. */
  async start(resume: boolean): Promise<void> {
    if (!resume) await this.deliverSnapshot(await snapshot(this.ds, this.kinds));
    this.open();
  }

  private closeHooks: (() => void)[] = [];

  /** Stops the watch and waits for handlers in progress. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const h of this.closeHooks) h();
    }
    if (this.timer) clearTimeout(this.timer);
    this.dropWatcher();
    await this.queue;
  }

  /** Runs `fn` once when the watch is closed. */
  onClose(fn: () => void): void {
    this.closeHooks.push(fn);
  }

  private open(): void {
    if (this.closed || this.ds.isClosed) return;
    // Events of a watch already dropped (a late message) are ignored. KvClient never calls the
    // handlers from within watch(), so `w` is set by then.
    const current = (): boolean => this.watcher === w;
    const range = this.ds.keys.watchRange(this.kinds);
    const w: KvWatch = this.ds.kv.watch(range.key, this.revision + 1, {
      onConnected: () => {
        if (!current()) return;
        this.backoffMs = 100;
        this.handlers.onStatus?.('connected');
      },
      onEvents: (events) => {
        if (current()) this.enqueue(() => this.deliverBatch(events));
      },
      onDisconnected: (err) => {
        if (!current()) return;
        this.handlers.onStatus?.('disconnected', err);
        // Re-watch from our own revision, not from what the stream had reached: a catch-up
        // that had not fully arrived is asked for again, and duplicates are skipped.
        this.dropWatcher();
        this.retryLater(() => this.open());
      },
      onCanceled: (err) => {
        if (!current()) return;
        // Cancelled by etcd, typically because our revision was compacted: resync.
        this.dropWatcher();
        this.handlers.onStatus?.('resync', err);
        this.enqueue(() => this.resync());
      },
    }, range.end);
    this.watcher = w;
  }

  private dropWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    w?.cancel();
  }

  private retryLater(fn: () => void): void {
    if (this.closed) return;
    const delay = this.backoffMs * (0.75 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, delay);
  }

  private async resync(): Promise<void> {
    if (this.closed) return;
    let snap: Snapshot;
    try {
      snap = await snapshot(this.ds, this.kinds);
    } catch (err) {
      this.handlers.onStatus?.('disconnected', err as Error);
      this.retryLater(() => this.enqueue(() => this.resync()));
      return;
    }
    await this.deliverSnapshot(snap);
    this.open();
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => this.handlers.onError?.(err as Error));
  }

  private async deliverSnapshot(snap: Snapshot): Promise<void> {
    this.revision = snap.revision;
    await this.call(() => this.handlers.onSnapshot?.(snap));
  }

  private async deliverBatch(events: readonly KvEvent[]): Promise<void> {
    const done = this.revision;
    let max = done;
    for (const ev of events) {
      const rev = ev.modRevision;
      // Skip what an earlier connection already delivered (a revision is never split across responses).
      if (rev <= done || this.closed) continue;
      max = Math.max(max, rev);
      const event = this.toEvent(ev.type, ev, rev);
      if (event) await this.call(() => this.handlers.onEvent(event));
    }
    this.revision = max;
  }

  private toEvent(type: 'put' | 'delete', kv: KeyValue, rev: number): WatchEvent | undefined {
    const key = kv.key;
    const parsed = this.ds.keys.parse(key);
    if (parsed && this.kinds && !this.kinds.has(parsed.kind)) return undefined;
    if (type === 'delete') {
      return parsed ? { type, kind: parsed.kind, key, id: parsed.id, modRevision: rev } : undefined;
    }
    const r = this.ds.decodeAny(kv);
    if (!r) return undefined;
    if ('reason' in r) {
      this.ds.reportBad(r);
      return { type: 'bad', key: r.key, reason: r.reason, modRevision: rev };
    }
    return { ...r, type: 'put' } as WatchEvent;
  }

  private async call(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.handlers.onError?.(err as Error);
    }
  }
}

/** All records (of `kinds`, default all) at one revision, bad values reported beside them. */
export async function snapshot(ds: EtcdStore, kinds?: ReadonlySet<Kind>): Promise<Snapshot> {
  const res = await ds.call(() => ds.kv.range(ds.keys.root, { prefix: true }));
  const snap: Snapshot = { revision: res.revision, records: [], bad: [] };
  for (const kv of res.kvs) {
    const parsed = ds.keys.parse(kv.key);
    if (parsed && kinds && !kinds.has(parsed.kind)) continue;
    const r = ds.decodeAny(kv);
    if (!r) continue;
    if ('reason' in r) {
      snap.bad.push(r);
      ds.reportBad(r);
    } else snap.records.push(r);
  }
  return snap;
}
