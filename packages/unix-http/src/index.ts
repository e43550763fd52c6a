/**
 * One HTTP request over a unix socket: the agent's control socket, dockerd's API and the Docker
 * plugin's all speak HTTP there, and each client needs the same bounded call.
 */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface UnixHttpRequest {
  socketPath: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** sent JSON-encoded; no body when undefined */
  body?: unknown;
  /** sent as is instead of `body` (e.g. a test's malformed JSON) */
  raw?: string;
  /** of the body (default application/json) */
  contentType?: string;
  /** extra request headers (e.g. accept) */
  headers?: Record<string, string>;
  /** how long the whole exchange may take */
  timeoutMs: number;
  /** who answers, for the timeout error ("agent", "docker", "plugin") */
  what: string;
}

export interface UnixHttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** the body as UTF-8 text ('' when empty) */
  text: string;
}

/**
 * Sends the request and resolves with the reply, whatever its status. Rejects with the socket's
 * error (its `code` kept: ENOENT or ECONNREFUSED when nothing listens) or, after `timeoutMs`,
 * with "`what` did not answer METHOD PATH within N ms".
 */
export function unixHttp(r: UnixHttpRequest): Promise<UnixHttpReply> {
  return new Promise((resolve, reject) => {
    const payload = r.raw !== undefined ? Buffer.from(r.raw) : r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const headers: Record<string, string | number> = { ...r.headers };
    if (payload) {
      headers['content-type'] = r.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    // `timeout` below is socket inactivity; this deadline bounds the whole exchange
    const deadline = setTimeout(() => req.destroy(timeoutError(r)), r.timeoutMs);
    const settle = (fn: () => void): void => {
      clearTimeout(deadline);
      fn();
    };
    const req = request({ socketPath: r.socketPath, path: r.path, method: r.method, timeout: r.timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => settle(() => reject(err)));
      res.on('end', () =>
        settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })),
      );
    });
    req.on('timeout', () => req.destroy(timeoutError(r)));
    req.on('error', (err) => settle(() => reject(err)));
    req.end(payload);
  });
}

const timeoutError = (r: UnixHttpRequest): Error => new Error(`${r.what} did not answer ${r.method} ${r.path} within ${r.timeoutMs} ms`);
