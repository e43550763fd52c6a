// Which KvClient to use: the JSON gateway client by default; etcd3 over gRPC when forced or when
// the endpoint has no gateway (404). The gRPC client (and etcd3 with it) is loaded only then.
import { GatewayMissingError, type KvClient, type KvWatch, type KvWatchHandlers, type RangeResult, type TxnRequest } from './kv.js';
import { HttpKv } from './kv-http.js';
import { loadTlsCredentials, type DatastoreOptions, type KvClientKind } from './options.js';

/** The client for `opts.client`: 'http', 'grpc', or unset = http with the 404 fallback to grpc. */
export function kvClient(opts: DatastoreOptions): KvClient {
  if (opts.client === 'http') return new HttpKv(opts);
  return new SelectingKv(opts, opts.client === 'grpc');
}

/** Which client `kv` (from kvClient) uses: undefined while undecided (no call answered yet). */
export async function kvClientKind(kv: KvClient): Promise<KvClientKind | undefined> {
  if (kv instanceof HttpKv) return 'http';
  return kv instanceof SelectingKv ? kv.kind() : undefined;
}

/** Decides on first use; once a call got an answer the choice is fixed. */
class SelectingKv implements KvClient {
  private chosen: Promise<KvClient> | undefined;
  private http: HttpKv | undefined;
  private closed = false;

  constructor(
    private readonly opts: DatastoreOptions,
    grpc: boolean,
  ) {
    if (grpc) {
      loadTlsCredentials(opts); // bad TLS options fail here, at once, as with the other clients
      this.chosen = this.loadGrpc();
    } else this.http = new HttpKv(opts);
  }

  /** Which client is in use, once decided. */
  async kind(): Promise<KvClientKind | undefined> {
    if (!this.chosen) return undefined;
    return (await this.chosen) instanceof HttpKv ? 'http' : 'grpc';
  }

  range(key: string, opts?: { prefix?: boolean; countOnly?: boolean; keysOnly?: boolean }): Promise<RangeResult> {
    return this.run((kv) => kv.range(key, opts));
  }

  put(key: string, value: string): Promise<{ revision: number }> {
    return this.run((kv) => kv.put(key, value));
  }

  deleteRange(key: string, opts?: { prefix?: boolean }): Promise<{ deleted: number; revision: number }> {
    return this.run((kv) => kv.deleteRange(key, opts));
  }

  txn(req: TxnRequest): Promise<{ succeeded: boolean; revision: number }> {
    return this.run((kv) => kv.txn(req));
  }

  compact(revision: number): Promise<void> {
    return this.run((kv) => kv.compact(revision));
  }

  watch(prefix: string, startRevision: number, handlers: KvWatchHandlers, rangeEnd?: Buffer): KvWatch {
    let inner: KvWatch | undefined;
    let cancelled = false;
    // Undecided: a cheap read decides first (an unreachable etcd ends this watch as disconnected).
    const ready = this.chosen ?? this.run((kv) => kv.range(prefix, { countOnly: true })).then(() => this.chosen!);
    ready.then(
      (kv) => {
        if (!cancelled) inner = kv.watch(prefix, startRevision, handlers, rangeEnd);
      },
      (err: Error) => {
        if (!cancelled) handlers.onDisconnected(err);
      },
    );
    return {
      cancel: () => {
        cancelled = true;
        inner?.cancel();
      },
    };
  }

  close(): void {
    this.closed = true;
    this.http?.close();
    void this.chosen?.then((kv) => kv !== this.http && kv.close(), () => undefined);
  }

  private async run<T>(fn: (kv: KvClient) => Promise<T>): Promise<T> {
    if (this.chosen) return fn(await this.chosen);
    const http = this.http!;
    try {
      const res = await fn(http);
      this.chosen ??= Promise.resolve(http);
      return res;
    } catch (err) {
      if (!(err instanceof GatewayMissingError)) throw err;
      // Nothing was applied (the gateway path does not exist): redo the call over gRPC.
      this.chosen ??= this.loadGrpc();
      return fn(await this.chosen);
    }
  }

  private async loadGrpc(): Promise<KvClient> {
    const { GrpcKv } = await import('./kv-grpc.js');
    const kv = new GrpcKv(this.opts);
    if (this.closed) kv.close();
    return kv;
  }
}
