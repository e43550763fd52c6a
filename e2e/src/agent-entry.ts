/**
 * e2e entry: `node agent-entry.js '<AgentOptions JSON>'` runs one node agent in the current
 * namespace (started with ip netns exec) until SIGTERM; progress lines go to stderr.
 */
import { runAgent, type AgentOptions } from '@tsnet/node';

const opts = JSON.parse(process.argv[2] ?? '{}') as AgentOptions;
runAgent({ ...opts, onProgress: (line) => console.error(line) }).then(
  (handle) =>
    handle.done.then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`agent failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    ),
  (err: unknown) => {
    console.error(`agent failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
