/** Test helpers: run tsctl in-process with captured output, and dump etcd for before/after checks. */
import { after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Datastore } from '@tsnet/datastore';
import { EtcdCluster } from '@tsnet/testkit';
import { main } from './cli.js';
import { captureIo } from './io.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsctl ARGS` in this process with the given environment (nothing from process.env). */
export async function tsctl(args: string[], env: Record<string, string | undefined> = {}, isTTY = false): Promise<RunResult> {
  const io = captureIo({ HOSTNAME: 'test-host', ...env }, isTTY);
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** Every key, value and mod revision in etcd, plus the store revision (any write bumps it). */
export async function etcdDump(endpoint: string): Promise<{ revision: string; kvs: [string, string, string][] }> {
  const res = await fetch(`${endpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: 'AA==', range_end: 'AA==' }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as { header: { revision: string }; kvs?: { key: string; value: string; mod_revision: string }[] };
  const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
  return { revision: body.header.revision, kvs: (body.kvs ?? []).map((kv) => [b64(kv.key), b64(kv.value ?? ''), kv.mod_revision]) };
}

/**
 * Asserts that `tsctl ARGS` fails with `code`, one stderr line matching `message`, nothing on
 * stdout, and leaves etcd exactly as it was.
 */
export async function assertRejected(
  endpoint: string,
  args: string[],
  code: 1 | 2,
  message: RegExp,
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  const before = await etcdDump(endpoint);
  const r = await tsctl(args, { ETCD_ENDPOINTS: endpoint, ...env });
  assert.equal(r.code, code, `exit code of tsctl ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(await etcdDump(endpoint), before, `etcd changed by tsctl ${args.join(' ')}`);
  return r;
}

/** Deletes every key (tests share one etcd per file and start each case from empty). */
export async function etcdWipe(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/v3/kv/deleterange`, {
    method: 'POST',
    body: JSON.stringify({ key: 'AA==', range_end: 'AA==' }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200, 'etcd deleterange');
}

export interface EtcdSuiteHandles {
  url: string;
  env: Record<string, string>;
  ds: Datastore;
}

/**
 * Inside a describe: one real etcd for the suite (stopped after it), wiped before each test, and
 * a datastore client on it; `assign` receives the handles once they exist.
 */
export function etcdSuite(assign: (h: EtcdSuiteHandles) => void): void {
  let etcd: EtcdCluster | undefined;
  let ds: Datastore | undefined;
  let url = '';
  before(async () => {
    etcd = await EtcdCluster.start(1);
    url = etcd.endpoints[0]!;
    ds = await Datastore.connect({ endpoints: [url] });
    assign({ url, env: { ETCD_ENDPOINTS: url }, ds });
  });
  after(async () => {
    await ds?.close();
    await etcd?.stop();
  });
  beforeEach(async () => etcdWipe(url));
}
