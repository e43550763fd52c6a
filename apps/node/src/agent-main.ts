/**
 * The node agent process: `node bin/tsnet-agent.mjs '<AgentOptions JSON>'`, as `tsctl node --detach`
 * (and the e2e labs and benchmarks) start it. tsctl has already resolved and checked every option;
 * this entry only runs the agent, so the process loads the agent and nothing of the CLI.
 * Progress lines go to stdout, the reason of a failed start to stderr as its last line.
 */
import { runAgent } from './agent.js';
import type { AgentOptions } from './options.js';

/** Parses the options argument; throws a one-line reason when it is not what tsctl writes. */
export function parseAgentOptionsArg(arg: string | undefined): AgentOptions {
  if (arg === undefined) throw new Error('usage: tsnet-agent <AgentOptions JSON> (started by tsctl node)');
  let v: unknown;
  try {
    v = JSON.parse(arg);
  } catch {
    throw new Error('the agent options argument is not JSON (start the agent with tsctl node)');
  }
  const o = v as Partial<AgentOptions> | null;
  const missing = (['name', 'ip', 'runDir', 'pluginDir', 'metricsAddr'] as const).filter(
    (k) => typeof o?.[k] !== 'string',
  );
  if (typeof o?.bgpPort !== 'number') missing.push('bgpPort' as never);
  if (!Array.isArray(o?.etcd?.endpoints)) missing.push('etcd.endpoints' as never);
  if (missing.length > 0)
    throw new Error(`the agent options lack ${missing.join(', ')} (start the agent with tsctl node)`);
  return { ...(o as AgentOptions), libnetwork: o!.libnetwork === true };
}

function fail(prefix: string, err: unknown): never {
  process.stderr.write(`${prefix}${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

export async function agentMain(argv: readonly string[]): Promise<void> {
  let opts: AgentOptions;
  try {
    opts = parseAgentOptionsArg(argv[0]);
  } catch (err) {
    fail('', err);
  }
  const handle = await runAgent({ ...opts, onProgress: (line) => process.stdout.write(`${line}\n`) }).catch(
    (err: unknown) => fail('', err),
  );
  process.stdout.write(`tsnet node is running (pid ${process.pid})\n`);
  await handle.done.catch((err: unknown) => fail('agent failed: ', err));
  process.exit(0);
}
