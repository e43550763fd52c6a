// KvClient over etcd's gRPC API with etcd3 (for an etcd whose JSON gateway is off). Heavy to load
// (gRPC, protobufjs): only ever imported lazily, by kv-select.ts.
import { Etcd3, isRecoverableError, type IKeyValue, type IOptions, type IWatchResponse, type Watcher } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, isBrokenCircuitError, noop } from 'cockatiel';
import { KvUnavailableError, prefixEnd, type KeyValue, type KvClient, type KvEvent, type KvWatch, type KvWatchHandlers, type RangeResult, type TxnRequest } from './kv.js';
import { DEFAULT_TIMEOUT_MS, loadTlsCredentials, type DatastoreOptions } from './options.js';

export class GrpcKv implements KvClient {
  private readonly etcd: Etcd3;

  constructor(opts: DatastoreOptions) {
    this.etcd = etcd3Client(opts);
  }

  async range(key: string, opts: { prefix?: boolean; countOnly?: boolean; keysOnly?: boolean } = {}): Promise<RangeResult> {
    const res = await this.run(() =>
      this.etcd.kv.range({
        key: Buffer.from(key),
        ...(opts.prefix && { range_end: prefixEnd(key) }),
        ...(opts.countOnly && { count_only: true }),
        ...(opts.keysOnly && { keys_only: true }),
      }),
    );
    return { revision: Number(res.header.revision), kvs: res.kvs.map(toKeyValue), count: Number(res.count) };
  }

  async put(key: string, value: string): Promise<{ revision: number }> {
    const res = await this.run(() => this.etcd.kv.put({ key: Buffer.from(key), value: Buffer.from(value) }));
    return { revision: Number(res.header.revision) };
  }

  async deleteRange(key: string, opts: { prefix?: boolean } = {}): Promise<{ deleted: number; revision: number }> {
    const res = await this.run(() => this.etcd.kv.deleteRange({ key: Buffer.from(key), ...(opts.prefix && { range_end: prefixEnd(key) }) }));
    return { deleted: Number(res.deleted), revision: Number(res.header.revision) };
  }

  async txn(req: TxnRequest): Promise<{ succeeded: boolean; revision: number }> {
    const res = await this.run(() =>
      this.etcd.kv.txn({
        compare: req.compares.map((c) => ({ key: Buffer.from(c.key), target: 'Mod', result: c.op === '==' ? 'Equal' : 'Greater', mod_revision: c.modRevision })),
        success: [
          ...req.puts.map((p) => ({ request_put: { key: Buffer.from(p.key), value: Buffer.from(p.value) } })),
          ...req.deletes.map((k) => ({ request_delete_range: { key: Buffer.from(k) } })),
        ],
      }),
    );
    return { succeeded: Boolean(res.succeeded), revision: Number(res.header.revision) };
  }

  async compact(revision: number): Promise<void> {
    await this.run(() => this.etcd.kv.compact({ revision: String(revision), physical: true }));
  }

  watch(prefix: string, startRevision: number, handlers: KvWatchHandlers, rangeEnd?: Buffer): KvWatch {
    const builder = rangeEnd ? this.etcd.watch().inRange({ start: prefix, end: rangeEnd }) : this.etcd.watch().prefix(prefix);
    const w: Watcher = builder.startRevision(String(startRevision)).watcher();
    let over = false;
    const end = (fn: () => void): void => {
      if (over) return;
      over = true;
      void w.cancel().catch(() => undefined);
      fn();
    };
    w.on('connected', () => {
      if (!over) handlers.onConnected();
    });
    w.on('data', (res: IWatchResponse) => {
      if (!over && res.events.length > 0) handlers.onEvents(res.events.map(toEvent), Number(res.header.revision));
    });
    // etcd3 would reconnect by itself from the header revision; the caller re-watches from its own.
    w.on('disconnected', (err: Error) => end(() => handlers.onDisconnected(err)));
    // Cancelled by etcd, typically because the start revision was compacted.
    w.on('error', (err: Error) => end(() => handlers.onCanceled(err)));
    return { cancel: () => end(() => undefined) };
  }

  close(): void {
    this.etcd.close();
  }

  /** Marks "no answer" errors as KvUnavailableError (breaker open = skipped, no attempt made). */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isBrokenCircuitError(err)) throw new KvUnavailableError((err as Error).message, true, { cause: err });
      if (err instanceof Error && (isRecoverableError(err) || /deadline|unavailable|No connection established|failed to connect/i.test(err.message))) {
        throw new KvUnavailableError(err.message, false, { cause: err });
      }
      throw err;
    }
  }
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return { key: kv.key.toString(), value: kv.value.toString(), modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

function toEvent(ev: IWatchResponse['events'][number]): KvEvent {
  return { type: ev.type === 'Delete' || String(ev.type) === '1' ? 'delete' : 'put', ...toKeyValue(ev.kv) };
}

/** An etcd3 client for the options: TLS, per-call deadlines, per-member circuit breakers. */
function etcd3Client(opts: DatastoreOptions): Etcd3 {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const credentials = loadTlsCredentials(opts);
  const options: IOptions = {
    hosts: opts.endpoints,
    dialTimeout: Math.min(timeoutMs, 3000),
    // Unary calls get a deadline; watch streams live until cancelled.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: new Date(Date.now() + timeoutMs) }),
    faultHandling: {
      // A dead member is skipped for 1 s after 3 failures; retrying is done by the store, not here.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
    },
    // gRPC's own reconnect backoff grows to 120 s by default, so after an etcd outage a channel
    // could stay down for half a minute while etcd was back; our retries are bounded above it.
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2000 },
  };
  if (credentials) options.credentials = credentials;
  return new Etcd3(options);
}
