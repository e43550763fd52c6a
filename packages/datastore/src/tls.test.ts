// TLS with client certificates against a real etcd started with --client-cert-auth.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrackedProcess, freePort, tempDir, waitFor } from '@tsnet/testkit';
import { Datastore } from './client.js';
import { datastoreOptionsFromEnv, KV_CLIENT_KINDS } from './options.js';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 20_000 });
}

/** A CA, a server cert for 127.0.0.1 and a client cert, all in `dir`. */
function makeCerts(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tsnet-test-ca']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
    openssl(dir, ['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`]);
  }
}

const TLS_ERROR = (url: string, reason: string) =>
  new RegExp(`^TLS with etcd at ${url} failed \\((${reason})\\): check --etcd-ca, --etcd-cert, --etcd-key \\(ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE\\)$`);

describe('etcd over TLS with client certificates', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let etcd: TrackedProcess | undefined;
  let url = '';
  const f = (n: string) => join(dir.path, n);

  before(async () => {
    dir = await tempDir('etcd-tls');
    makeCerts(dir.path);
    // A second, unrelated CA: trusting it instead of the real one must fail verification.
    openssl(dir.path, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '1', '-subj', '/CN=other-ca']);
    const [client, peer] = [await freePort(), await freePort()];
    url = `https://127.0.0.1:${client}`;
    etcd = new TrackedProcess('etcd-tls', 'etcd', [
      '--name', 'tls', '--data-dir', f('data'),
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `tls=http://127.0.0.1:${peer}`,
      '--cert-file', f('server.pem'), '--key-file', f('server.key'),
      '--client-cert-auth', '--trusted-ca-file', f('ca.pem'), '--log-level', 'warn', '--logger', 'zap',
    ], { logFile: f('etcd.log') });
  });
  after(async () => {
    await etcd?.stop(3000);
    await dir?.remove();
  });

  for (const client of KV_CLIENT_KINDS) {
    test(`${client} client: ETCD_CA_CERT_FILE / ETCD_CERT_FILE / ETCD_KEY_FILE connect; missing client cert or wrong CA is one clear line`, async (t) => {
      const opts = datastoreOptionsFromEnv({}, {
        ETCD_ENDPOINTS: url, ETCD_CA_CERT_FILE: f('ca.pem'), ETCD_CERT_FILE: f('client.pem'), ETCD_KEY_FILE: f('client.key'), TSNET_ETCD_CLIENT: client,
      });
      const ds = await waitFor('etcd over TLS', async () => Datastore.connect({ ...opts, prefix: '/tls', timeoutMs: 1000 }), { timeoutMs: 20_000, intervalMs: 200 });
      try {
        await ds.putNode({ name: `secure-${client}`, ipv4: '198.51.100.1' });
        assert.equal((await ds.getNode(`secure-${client}`))?.ipv4, '198.51.100.1');
      } finally {
        await ds.close();
      }
      // CA only, no client certificate: the server refuses; the error names the endpoint.
      await assert.rejects(Datastore.connect({ client, endpoints: [url], caFile: f('ca.pem'), timeoutMs: 1000 }), (err: Error) => {
        t.diagnostic(err.message);
        assert.equal(err.name, 'TsnetError');
        assert.match(err.message, TLS_ERROR(url, '.*bad certificate'));
        return true;
      });
      // The wrong CA: the server's certificate does not verify.
      await assert.rejects(
        Datastore.connect({ client, endpoints: [url], caFile: f('other-ca.pem'), certFile: f('client.pem'), keyFile: f('client.key'), timeoutMs: 1000 }),
        (err: Error) => {
          t.diagnostic(err.message);
          assert.equal(err.name, 'TsnetError');
          assert.match(err.message, TLS_ERROR(url, '.*(verify|certificate).*'));
          assert.equal(err.message.split('\n').length, 1);
          return true;
        },
      );
      assert.throws(() => Datastore.create({ client, endpoints: [url], certFile: f('client.pem'), caFile: f('ca.pem') }), /needs both a certificate and a key/);
      assert.throws(() => Datastore.create({ client, endpoints: [url], caFile: f('missing.pem') }), /cannot read etcd CA certificate .*missing\.pem: ENOENT; check --etcd-ca\/ETCD_CA_CERT_FILE/);
    });
  }
});
