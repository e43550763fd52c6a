/**
 * The HTTP shell: POST /<Interface>.<Method> on a unix socket, JSON in and out. Every call is
 * dispatched through one table; domain errors become 200 replies with the field the calling
 * driver reads (`Err` or `Error`), malformed requests a 400 whose `Err` dockerd's plugin client
 * reads for either driver. Nothing a request does can stop the server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PLUGIN_CONTENT_TYPE, errorBody, type DriverKind } from './protocol.js';
import { PluginError, messageOf } from './errors.js';
import type { IpamDriver } from './ipam-driver.js';
import type { NetworkDriver } from './network-driver.js';
import type { Logger } from './ports.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- request bodies are checked by each handler
type Handler = (body: any) => object | Promise<object>;

/** The dispatch table: one row per remote API method dockerd 20.10 may call. */
export function routeTable(
  network: NetworkDriver,
  ipam: IpamDriver,
): Map<string, { kind: DriverKind; handle: Handler }> {
  const rows: [string, DriverKind, Handler][] = [
    ['/Plugin.Activate', 'Plugin', () => ({ Implements: ['NetworkDriver', 'IpamDriver'] })],
    ['/NetworkDriver.GetCapabilities', 'NetworkDriver', () => network.getCapabilities()],
    ['/NetworkDriver.CreateNetwork', 'NetworkDriver', (b) => network.createNetwork(b)],
    ['/NetworkDriver.DeleteNetwork', 'NetworkDriver', (b) => network.deleteNetwork(b)],
    ['/NetworkDriver.AllocateNetwork', 'NetworkDriver', () => network.allocateNetwork()],
    ['/NetworkDriver.FreeNetwork', 'NetworkDriver', () => network.freeNetwork()],
    ['/NetworkDriver.CreateEndpoint', 'NetworkDriver', (b) => network.createEndpoint(b)],
    ['/NetworkDriver.DeleteEndpoint', 'NetworkDriver', (b) => network.deleteEndpoint(b)],
    ['/NetworkDriver.EndpointOperInfo', 'NetworkDriver', (b) => network.endpointOperInfo(b)],
    ['/NetworkDriver.Join', 'NetworkDriver', (b) => network.join(b)],
    ['/NetworkDriver.Leave', 'NetworkDriver', (b) => network.leave(b)],
    ['/NetworkDriver.DiscoverNew', 'NetworkDriver', () => network.discover()],
    ['/NetworkDriver.DiscoverDelete', 'NetworkDriver', () => network.discover()],
    ['/NetworkDriver.ProgramExternalConnectivity', 'NetworkDriver', () => network.externalConnectivity()],
    ['/NetworkDriver.RevokeExternalConnectivity', 'NetworkDriver', () => network.externalConnectivity()],
    ['/IpamDriver.GetCapabilities', 'IpamDriver', () => ipam.getCapabilities()],
    ['/IpamDriver.GetDefaultAddressSpaces', 'IpamDriver', () => ipam.getDefaultAddressSpaces()],
    ['/IpamDriver.RequestPool', 'IpamDriver', (b) => ipam.requestPool(b)],
    ['/IpamDriver.ReleasePool', 'IpamDriver', () => ipam.releasePool()],
    ['/IpamDriver.RequestAddress', 'IpamDriver', (b) => ipam.requestAddress(b)],
    ['/IpamDriver.ReleaseAddress', 'IpamDriver', (b) => ipam.releaseAddress(b)],
  ];
  return new Map(rows.map(([path, kind, handle]) => [path, { kind, handle }]));
}

const MAX_BODY = 1 << 20;

export interface ListeningPlugin {
  server: Server;
  close(): Promise<void>;
}

/** Serves `routes` on the unix socket `socketPath` (replacing a stale socket file). */
export async function listenPlugin(
  socketPath: string,
  routes: Map<string, { kind: DriverKind; handle: Handler }>,
  log: Logger,
  onCall?: (path: string, ms: number) => void,
): Promise<ListeningPlugin> {
  const server = createServer((req, res) => {
    void serve(req, res, routes, log, onCall);
  });
  await mkdir(dirname(socketPath), { recursive: true });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: messageOf(err) }, 'plugin server error'));
  return {
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  routes: Map<string, { kind: DriverKind; handle: Handler }>,
  log: Logger,
  onCall?: (path: string, ms: number) => void,
): Promise<void> {
  const started = performance.now();
  const path = (req.url ?? '').split('?')[0]!;
  const route = routes.get(path);
  try {
    const text = await readBody(req);
    if (!route) return reply(res, 404, { Err: `tsnet does not implement ${path}` });
    let body: unknown = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch (err) {
        return reply(res, 400, { Err: `${path}: request body is not valid JSON (${messageOf(err)})` });
      }
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return reply(res, 400, { Err: `${path}: request body must be a JSON object` });
    }
    try {
      const result = await route.handle(body);
      log.debug({ path, ms: performance.now() - started }, 'plugin call');
      reply(res, 200, result);
    } catch (err) {
      if (!(err instanceof PluginError)) log.error({ path, err: messageOf(err) }, 'plugin call failed');
      else log.warn({ path, err: err.message }, 'plugin call refused');
      reply(res, 200, errorBody(route.kind, messageOf(err)));
    }
  } catch (err) {
    reply(res, 400, { Err: `${path}: ${messageOf(err)}` });
  } finally {
    onCall?.(path, performance.now() - started);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`request body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': PLUGIN_CONTENT_TYPE, 'content-length': payload.length });
  res.end(payload);
}
