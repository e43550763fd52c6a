// KvClient over etcd's JSON gateway (HTTP/1.1 POST /v3/...): node:http/https with keep-alive and
// client certificates, a deadline on every unary call, failover to the next endpoint when one does
// not answer, and one streamed POST /v3/watch per watch. Loads nothing beyond Node itself.
import http from 'node:http';
import https from 'node:https';
import {
  GatewayMissingError,
  KvUnavailableError,
  prefixEnd,
  type KvClient,
  type KvWatch,
  type KvWatchHandlers,
  type RangeResult,
  type TxnRequest,
} from './kv.js';
import {
  b64,
  decodeEvents,
  decodeRange,
  headerRevision,
  isUnavailableCode,
  JsonObjectSplitter,
  type WireError,
  type WireRange,
  type WireWatchResult,
} from './kv-json.js';
import { DEFAULT_TIMEOUT_MS, loadTlsCredentials, type DatastoreOptions } from './options.js';

/** TCP connect bound: a silent endpoint is given up on (and the next tried) well within a call. */
const MAX_CONNECT_MS = 2000;
/** TCP keepalive probes on idle watch streams, so a vanished peer ends the stream. */
const KEEPALIVE_MS = 5000;

/** An error etcd answered with (bad request, future revision...): not retried. */
export class EtcdRequestError extends Error {
  constructor(
    message: string,
    readonly grpcCode: number | undefined,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = 'EtcdRequestError';
  }
}

export class HttpKv implements KvClient {
  private readonly endpoints: URL[];
  private readonly timeoutMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** Index of the endpoint in use; moves on when it does not answer. */
  private current = 0;
  private closed = false;
  private readonly watches = new Set<http.ClientRequest>();

  constructor(opts: DatastoreOptions) {
    const creds = loadTlsCredentials(opts);
    this.endpoints = opts.endpoints.map((e) => new URL(e));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.httpAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: KEEPALIVE_MS });
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      keepAliveMsecs: KEEPALIVE_MS,
      ...(creds && { ca: creds.rootCertificate, cert: creds.certChain, key: creds.privateKey }),
    });
  }

  async range(key: string, opts: { prefix?: boolean; countOnly?: boolean; keysOnly?: boolean } = {}): Promise<RangeResult> {
    const res = await this.unary<WireRange>('/v3/kv/range', {
      key: b64(key),
      ...(opts.prefix && { range_end: b64(prefixEnd(key)) }),
      ...(opts.countOnly && { count_only: true }),
      ...(opts.keysOnly && { keys_only: true }),
    });
    return decodeRange(res);
  }

  async put(key: string, value: string): Promise<{ revision: number }> {
    return { revision: headerRevision(await this.unary('/v3/kv/put', { key: b64(key), value: b64(value) })) };
  }

  async deleteRange(key: string, opts: { prefix?: boolean } = {}): Promise<{ deleted: number; revision: number }> {
    const res = await this.unary<{ header?: { revision?: string }; deleted?: string }>('/v3/kv/deleterange', {
      key: b64(key),
      ...(opts.prefix && { range_end: b64(prefixEnd(key)) }),
    });
    return { deleted: Number(res.deleted ?? 0), revision: headerRevision(res) };
  }

  async txn(req: TxnRequest): Promise<{ succeeded: boolean; revision: number }> {
    const res = await this.unary<{ header?: { revision?: string }; succeeded?: boolean }>('/v3/kv/txn', {
      compare: req.compares.map((c) => ({
        key: b64(c.key),
        target: 'MOD',
        result: c.op === '==' ? 'EQUAL' : 'GREATER',
        mod_revision: String(c.modRevision),
      })),
      success: [
        ...req.puts.map((p) => ({ request_put: { key: b64(p.key), value: b64(p.value) } })),
        ...req.deletes.map((k) => ({ request_delete_range: { key: b64(k) } })),
      ],
    });
    return { succeeded: res.succeeded === true, revision: headerRevision(res) };
  }

  async compact(revision: number): Promise<void> {
    await this.unary('/v3/kv/compaction', { revision: String(revision), physical: true });
  }

  watch(prefix: string, startRevision: number, handlers: KvWatchHandlers, rangeEnd?: Buffer): KvWatch {
    const ep = this.endpoints[this.current]!;
    let over = false;
    const end = (fn: () => void): void => {
      if (over) return;
      over = true;
      this.watches.delete(req);
      req.destroy();
      fn();
    };
    // The next watch (or call) goes to another member: this one is down or lost its leader.
    const disconnected = (err: Error): void =>
      end(() => {
        this.failedOver(ep);
        handlers.onDisconnected(err);
      });
    const body = { create_request: { key: b64(prefix), range_end: b64(rangeEnd ?? prefixEnd(prefix)), start_revision: String(startRevision) } };
    // gRPC metadata "hasleader": a member cut off from its cluster ends the stream ("no leader")
    // instead of keeping it open without events.
    const req = this.request(ep, '/v3/watch', JSON.stringify(body), { 'grpc-metadata-hasleader': 'true' });
    this.watches.add(req);
    req.on('socket', (s) => s.setKeepAlive(true, KEEPALIVE_MS));
    req.on('error', (err) => {
      disconnected(new KvUnavailableError(err.message, false, { cause: err }));
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        readBody(res).then((body) => disconnected(answerError(ep, res.statusCode ?? 0, body)), disconnected);
        return;
      }
      const splitter = new JsonObjectSplitter();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const msg of splitter.push(chunk)) {
          if (over) return;
          let parsed: { result?: WireWatchResult; error?: WireError };
          try {
            parsed = JSON.parse(msg) as typeof parsed;
          } catch {
            disconnected(new Error(`etcd watch stream from ${ep.origin}: bad JSON message`));
            return;
          }
          if (parsed.error) {
            disconnected(new KvUnavailableError(`etcd watch stream broke: ${parsed.error.message ?? 'unknown error'}`));
            return;
          }
          const r = parsed.result ?? {};
          if (r.created) handlers.onConnected();
          const events = decodeEvents(r);
          if (events.length > 0) handlers.onEvents(events, headerRevision(r));
          if (r.canceled) {
            const why = r.compact_revision && r.compact_revision !== '0' ? `revision ${startRevision} was compacted (now at ${r.compact_revision})` : (r.cancel_reason ?? 'cancelled by etcd');
            end(() => handlers.onCanceled(new Error(`etcd watch cancelled: ${why}`)));
            return;
          }
        }
      });
      res.on('error', (err) => disconnected(new KvUnavailableError(err.message, false, { cause: err })));
      res.on('close', () => disconnected(new KvUnavailableError(`etcd watch stream from ${ep.origin} closed`)));
    });
    req.end();
    return { cancel: () => end(() => undefined) };
  }

  close(): void {
    this.closed = true;
    for (const req of this.watches) req.destroy();
    this.watches.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** One request with the call's deadline; tries each endpoint at most once while none answers. */
  private async unary<T>(path: string, body: unknown): Promise<T> {
    if (this.closed) throw new Error('etcd client is closed');
    const payload = JSON.stringify(body);
    const deadline = Date.now() + this.timeoutMs;
    let last: unknown;
    for (let tries = 0; tries < this.endpoints.length; tries++) {
      const ep = this.endpoints[this.current]!;
      try {
        return (await this.post(ep, path, payload, deadline)) as T;
      } catch (err) {
        if (!(err instanceof KvUnavailableError)) throw err;
        this.failedOver(ep);
        // Only a request that surely never reached etcd is sent again here (a txn must not
        // apply twice unseen); the rest is retried by the store, which knows about uncertainty.
        if (!(err.cause as { notSent?: boolean } | undefined)?.notSent || Date.now() >= deadline) throw err;
        last = err;
      }
    }
    throw last;
  }

  /** Moves to the next endpoint after `ep` failed (unless another call already moved on). */
  private failedOver(ep: URL): void {
    if (this.endpoints[this.current] === ep) this.current = (this.current + 1) % this.endpoints.length;
  }

  private request(ep: URL, path: string, payload: string, headers: Record<string, string> = {}): http.ClientRequest {
    const options: http.RequestOptions = {
      hostname: ep.hostname.replace(/^\[|\]$/g, ''),
      port: ep.port || (ep.protocol === 'https:' ? 443 : 80),
      path: ep.pathname.replace(/\/+$/, '') + path,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    };
    const req = ep.protocol === 'https:' ? https.request({ ...options, agent: this.httpsAgent }) : http.request({ ...options, agent: this.httpAgent });
    req.write(payload);
    return req;
  }

  private post(ep: URL, path: string, payload: string, deadline: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = this.request(ep, path, payload);
      let connected = false;
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`deadline exceeded (${this.timeoutMs} ms)`), { notSent: !connected })), Math.max(0, deadline - Date.now()));
      req.on('socket', (s) => {
        if (!s.connecting) {
          connected = true;
          return;
        }
        const connectTimer = setTimeout(() => req.destroy(Object.assign(new Error(`connect timeout (${MAX_CONNECT_MS} ms)`), { notSent: true })), Math.min(MAX_CONNECT_MS, this.timeoutMs));
        s.once(ep.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          connected = true;
          clearTimeout(connectTimer);
        });
        s.once('close', () => clearTimeout(connectTimer));
      });
      req.on('error', (err: Error & { notSent?: boolean }) => {
        clearTimeout(timer);
        if (err.notSent === undefined) err.notSent = !connected;
        reject(new KvUnavailableError(err.message, false, { cause: err }));
      });
      req.on('response', (res) => {
        readBody(res).then(
          (body) => {
            clearTimeout(timer);
            if (res.statusCode === 200) {
              try {
                resolve(JSON.parse(body));
              } catch {
                reject(new EtcdRequestError(`etcd at ${ep.origin} answered ${path} with bad JSON`, undefined, 200));
              }
            } else reject(answerError(ep, res.statusCode ?? 0, body));
          },
          (err: Error) => {
            clearTimeout(timer);
            reject(new KvUnavailableError(err.message, false, { cause: err }));
          },
        );
      });
      req.end();
    });
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('connection closed before the answer was complete'));
    });
  });
}

/** The error for a non-200 answer: 404 = no gateway; unavailable/deadline/5xx = try elsewhere. */
function answerError(ep: URL, status: number, body: string): Error {
  if (status === 404) return new GatewayMissingError(ep.origin);
  let e: WireError = {};
  try {
    e = JSON.parse(body) as WireError;
  } catch {
    // not a gateway error body (a proxy's page): status alone
  }
  const code = e.code ?? e.grpc_code;
  const message = e.message ?? e.error ?? (body.trim().split('\n')[0]!.slice(0, 200) || `HTTP ${status}`);
  if (isUnavailableCode(code) || status === 502 || status === 503 || status === 504) return new KvUnavailableError(`etcd at ${ep.origin}: ${message}`);
  return new EtcdRequestError(`etcd at ${ep.origin}: ${message}`, code, status);
}
