// The benchmark's plugin client: one POST on the plugin socket, the JSON reply.
import { request } from 'node:http';

export function post(socketPath: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = request(
      { socketPath, path, method: 'POST', timeout: 10_000, headers: { 'content-length': payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
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
