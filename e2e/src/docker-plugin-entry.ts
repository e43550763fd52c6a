/**
 * e2e entry: `node docker-plugin-entry.js '<JSON>'` serves the tsnet Docker plugin in the current
 * network namespace (started with ip netns exec) until SIGTERM — the stand-in for `tsnet node
 * --libnetwork` while the agent does not serve the plugin itself. JSON: { etcd: string[],
 * name, pluginDir, dockerSocket? }. Log lines (JSON) go to stderr.
 */
import { join } from 'node:path';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { PLUGIN_SOCKET_NAME, ipamAllocator, startPluginServer, type Logger } from '@tsnet/libnetwork';

interface EntryOptions {
  etcd: string[];
  name: string;
  pluginDir: string;
  dockerSocket?: string;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as EntryOptions;
const line =
  (level: string) =>
  (obj: object, msg?: string): void => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...obj })}\n`);
  };
const log: Logger = {
  info: line('info'),
  warn: line('warn'),
  error: line('error'),
  debug: process.env.TSNET_DEBUG ? line('debug') : () => {},
};

async function main(): Promise<void> {
  const ds = await Datastore.connect({ endpoints: opts.etcd, timeoutMs: 3000 });
  const server = await startPluginServer({
    socketPath: join(opts.pluginDir, PLUGIN_SOCKET_NAME),
    datastore: ds,
    allocator: ipamAllocator(new Ipam(ds)),
    nodeName: opts.name,
    logger: log,
    // TSNET_ISOLATION=off: measure without the isolation chains (benchmark breakdowns only)
    isolation: process.env.TSNET_ISOLATION !== 'off',
    ...(opts.dockerSocket ? { dockerSocket: opts.dockerSocket } : {}),
  });
  const stop = (): void => {
    void server
      .close()
      .then(() => ds.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  log.error({ err: err instanceof Error ? err.message : String(err) }, 'plugin failed to start');
  process.exit(1);
});
