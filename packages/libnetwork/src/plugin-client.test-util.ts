// Test helper: POSTs to a plugin socket the way dockerd's plugin client does.
import { unixHttp } from '@tsnet/unix-http';

export interface PluginReply {
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

export async function post(socketPath: string, path: string, body?: unknown, raw?: string): Promise<PluginReply> {
  const reply = await unixHttp({
    socketPath,
    method: 'POST',
    path,
    // no body at all is sent as an empty one, as dockerd does for calls without arguments
    ...(raw !== undefined || body === undefined ? { raw: raw ?? '' } : { body }),
    headers: { accept: 'application/vnd.docker.plugins.v1.2+json' },
    timeoutMs: 10_000,
    what: 'plugin',
  });
  return { status: reply.status, contentType: reply.headers['content-type'], body: JSON.parse(reply.text) as Record<string, unknown> };
}
