import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixHttp } from './index.js';

describe('unixHttp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unix-http-'));
  const socketPath = join(dir, 'api.sock');
  const seen: Array<{ method: string; url: string; type: string | undefined; accept: string | undefined; body: string }> = [];
  let server: Server;
  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  before(async () => {
    server = createServer((req, res) => {
      void readBody(req).then((body) => {
        seen.push({ method: req.method!, url: req.url!, type: req.headers['content-type'], accept: req.headers.accept, body });
        if (req.url === '/silent') return; // never answers
        if (req.url === '/missing') {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"no such thing"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: body ? JSON.parse(body) : null }));
      });
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a JSON body goes out with its type and length; the reply comes back whole', async () => {
    const reply = await unixHttp({ socketPath, method: 'POST', path: '/x', body: { a: [1, 'ü'] }, timeoutMs: 2000, what: 'test server' });
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text), { echo: { a: [1, 'ü'] } });
    assert.deepEqual(seen.at(-1), { method: 'POST', url: '/x', type: 'application/json', accept: undefined, body: '{"a":[1,"ü"]}' });
    await unixHttp({ socketPath, method: 'POST', path: '/y', body: {}, contentType: 'application/vnd.docker.plugins.v1.2+json', headers: { accept: 'x/y' }, timeoutMs: 2000, what: 'test server' });
    assert.equal(seen.at(-1)!.type, 'application/vnd.docker.plugins.v1.2+json');
    assert.equal(seen.at(-1)!.accept, 'x/y');
    await unixHttp({ socketPath, method: 'POST', path: '/z', raw: '{"b":2}', timeoutMs: 2000, what: 'test server' });
    assert.equal(seen.at(-1)!.body, '{"b":2}');
  });

  test('no body: no content type; an error status resolves (the caller decides)', async () => {
    const reply = await unixHttp({ socketPath, method: 'GET', path: '/missing', timeoutMs: 2000, what: 'test server' });
    assert.equal(seen.at(-1)!.type, undefined);
    assert.equal(reply.status, 404);
    assert.equal(reply.text, '{"message":"no such thing"}');
  });

  test('nothing listening: the socket error with its code', async () => {
    await assert.rejects(
      unixHttp({ socketPath: join(dir, 'none.sock'), method: 'GET', path: '/', timeoutMs: 2000, what: 'test server' }),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
  });

  test('no answer: rejected after the timeout, naming who and what', async () => {
    const t0 = Date.now();
    await assert.rejects(
      unixHttp({ socketPath, method: 'GET', path: '/silent', timeoutMs: 200, what: 'test server' }),
      { message: 'test server did not answer GET /silent within 200 ms' },
    );
    const took = Date.now() - t0;
    assert.ok(took >= 190 && took < 2000, `took ${took} ms`);
  });
});
