// Connection options as the CONTRACT defines them (flags win over env, env over defaults).
import { readFileSync } from 'node:fs';
import { TsnetError } from './errors.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';
export const DEFAULT_PREFIX = '/tsnet';
export const DEFAULT_TIMEOUT_MS = 5000;

/** The etcd client: the JSON gateway over HTTP (light, default) or gRPC with etcd3. */
export type KvClientKind = 'http' | 'grpc';
export const KV_CLIENT_KINDS: readonly KvClientKind[] = ['http', 'grpc'];

export interface DatastoreOptions {
  /** etcd client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** PEM file paths for TLS (CA alone = server-auth TLS; with cert+key = client certificates). */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Key prefix, default '/tsnet'. */
  prefix?: string;
  /** Bound of every unary call and of the initial reachability probe (default 5000 ms). */
  timeoutMs?: number;
  /**
   * Force the etcd client (env TSNET_ETCD_CLIENT). Unset: the JSON gateway, switching to gRPC
   * (loading etcd3) when the endpoint answers the gateway path with 404 (--enable-grpc-gateway=false).
   */
  client?: KvClientKind;
  /** Called for each bad/foreign value met by list and watch (default: ignored, still returned). */
  onBadValue?: (bad: { key: string; reason: string }) => void;
}

/** Flag values as tsctl/the agent parse them (undefined = not given). */
export interface DatastoreFlags {
  etcdEndpoints?: string | string[];
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  prefix?: string;
  timeoutMs?: number;
}

/** Splits a comma-separated endpoint list; bare host:port gets http://. */
export function parseEndpoints(value: string | readonly string[]): string[] {
  const list = (typeof value === 'string' ? [value] : value)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw new TsnetError('no etcd endpoint given: set --etcd-endpoints or ETCD_ENDPOINTS', 'usage');
  return list.map((e) => {
    const url = /^[a-z]+:\/\//i.test(e) ? e : `http://${e}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TsnetError(`bad etcd endpoint "${e}": use http(s)://HOST:PORT`, 'usage');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TsnetError(`bad etcd endpoint "${e}": use http(s)://HOST:PORT`, 'usage');
    }
    return url.replace(/\/+$/, '');
  });
}

/**
 * Options from flags, then ETCD_ENDPOINTS / ETCD_CA_CERT_FILE / ETCD_CERT_FILE / ETCD_KEY_FILE /
 * TSNET_ETCD_PREFIX / TSNET_ETCD_CLIENT, then defaults.
 */
export function datastoreOptionsFromEnv(flags: DatastoreFlags = {}, env: NodeJS.ProcessEnv = process.env): DatastoreOptions {
  const opts: DatastoreOptions = {
    endpoints: parseEndpoints(flags.etcdEndpoints ?? env.ETCD_ENDPOINTS ?? DEFAULT_ENDPOINT),
    prefix: flags.prefix ?? env.TSNET_ETCD_PREFIX ?? DEFAULT_PREFIX,
    timeoutMs: flags.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  const ca = flags.etcdCa ?? env.ETCD_CA_CERT_FILE;
  const cert = flags.etcdCert ?? env.ETCD_CERT_FILE;
  const key = flags.etcdKey ?? env.ETCD_KEY_FILE;
  if (ca) opts.caFile = ca;
  if (cert) opts.certFile = cert;
  if (key) opts.keyFile = key;
  const client = env.TSNET_ETCD_CLIENT;
  if (client) {
    if (!(KV_CLIENT_KINDS as readonly string[]).includes(client)) {
      throw new TsnetError(`bad etcd client "${client}": set TSNET_ETCD_CLIENT to http or grpc (or leave it unset)`, 'usage');
    }
    opts.client = client as KvClientKind;
  }
  return opts;
}

/** Reads the PEM files; errors name the file and the flag/env that set it. */
export function loadTlsCredentials(
  opts: Pick<DatastoreOptions, 'caFile' | 'certFile' | 'keyFile'>,
): { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } | undefined {
  if (!opts.caFile && !opts.certFile && !opts.keyFile) return undefined;
  if (Boolean(opts.certFile) !== Boolean(opts.keyFile)) {
    throw new TsnetError('etcd client TLS needs both a certificate and a key: set --etcd-cert and --etcd-key (ETCD_CERT_FILE, ETCD_KEY_FILE)', 'usage');
  }
  if (!opts.caFile) {
    throw new TsnetError('etcd TLS needs the CA certificate: set --etcd-ca or ETCD_CA_CERT_FILE', 'usage');
  }
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TsnetError(`cannot read etcd ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check ${what === 'CA certificate' ? '--etcd-ca/ETCD_CA_CERT_FILE' : what === 'client certificate' ? '--etcd-cert/ETCD_CERT_FILE' : '--etcd-key/ETCD_KEY_FILE'}`, 'usage');
    }
  };
  const creds: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } = {
    rootCertificate: read(opts.caFile, 'CA certificate'),
  };
  if (opts.certFile && opts.keyFile) {
    creds.certChain = read(opts.certFile, 'client certificate');
    creds.privateKey = read(opts.keyFile, 'client key');
  }
  return creds;
}
