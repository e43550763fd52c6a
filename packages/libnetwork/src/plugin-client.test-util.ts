// Test helper: POSTs to a plugin socket the way dockerd's plugin client does.
import { request } from 'node:http';

export interface PluginReply {
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

export function post(socketPath: string, path: string, body?: unknown, raw?: string): Promise<PluginReply> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(raw ?? (body === undefined ? '' : JSON.stringify(body)));
    const req = request(
      {
        socketPath,
        path,
        method: 'POST',
        timeout: 10_000,
        headers: { accept: 'application/vnd.docker.plugins.v1.2+json', 'content-length': payload.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              contentType: res.headers['content-type'],
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
            });
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no reply within 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}
