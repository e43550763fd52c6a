/**
 * A byte forwarder for e2e: `node agent-forward.js UNIX_PATH HOST PORT` accepts on a unix socket
 * and connects each client to HOST:PORT. Run inside a namespace (ip netns exec), it lets the test
 * process (root namespace) reach etcd on the underlay through the shared filesystem.
 */
import { createServer, connect } from 'node:net';
import { rmSync } from 'node:fs';

const [path, host, port] = process.argv.slice(2);
if (!path || !host || !port) {
  console.error('usage: agent-forward UNIX_PATH HOST PORT');
  process.exit(2);
}
rmSync(path, { force: true });
const server = createServer((client) => {
  const upstream = connect(Number(port), host);
  client.pipe(upstream).pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
});
server.listen(path, () => console.log(`forwarding ${path} -> ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
