/**
 * The control socket: HTTP+JSON on `<run-dir>/tsnet.sock` (GET /status), plus the pid file.
 * A socket nobody answers on is stale and removed; one that answers means another agent runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { AgentNotRunningError, callAgent, controlSocketPath, pidFilePath, type AgentStatus } from './control-api.js';

export type Route = (req: IncomingMessage) => Promise<unknown> | unknown;

export interface ControlServer {
  socketPath: string;
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Throws when another agent answers on the run dir's control socket; a socket nobody answers on
 * is left for startControlServer to replace.
 */
export async function ensureNoOtherAgent(runDir: string): Promise<void> {
  await mkdir(runDir, { recursive: true });
  const socketPath = controlSocketPath(runDir);
  if (!(await exists(socketPath))) return;
  const other = await callAgent<AgentStatus>(runDir, 'GET', '/status', undefined, 1000).catch((err: unknown) =>
    err instanceof AgentNotRunningError ? null : undefined,
  );
  if (other) throw new Error(`tsnet node is already running (pid ${other.pid}): stop it with tsctl node stop`);
}

/** Starts the control server; `routes` maps "GET /status" style keys to handlers. */
export async function startControlServer(runDir: string, routes: Record<string, Route>): Promise<ControlServer> {
  await ensureNoOtherAgent(runDir);
  const socketPath = controlSocketPath(runDir);
  await rm(socketPath, { force: true });
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const handler = routes[`${req.method} ${path}`];
    const send = (code: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (!handler) return send(404, { error: `no such control call: ${req.method} ${path}` });
    Promise.resolve()
      .then(() => handler(req))
      .then(
        (body) => send(200, body ?? {}),
        (err: unknown) => send(500, { error: err instanceof Error ? err.message : String(err) }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await writeFile(pidFilePath(runDir), `${process.pid}\n`);
  return {
    socketPath,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(socketPath, { force: true });
      await rm(pidFilePath(runDir), { force: true });
    },
  };
}
