/**
 * The node agent process: `node bin/tsnet-agent.mjs '<AgentOptions JSON>'`, as `tsctl node --detach`
 * (and the e2e labs and benchmarks) start it. tsctl has already resolved and checked every option;
 * this entry only runs the agent, so the process loads the agent and nothing of the CLI.
 * Progress lines go to stdout, the reason of a failed start to stderr as its last line.
 */
import { setFlagsFromString } from 'node:v8';
import { runAgent } from './agent.js';
import type { AgentOptions } from './options.js';

/**
 * V8 flags of the agent process, set by the process itself once its modules are loaded. Any V8
 * flag on the command line changes V8's flag hash, and Node's code cache of its own built-in
 * modules (http, net, child_process, ...) is then rejected: every one of them is compiled from
 * source, about 15 ms more CPU per start (docs/benchmarks.md, "mesh"). Set after loading, they
 * cost nothing at start and act on everything the agent does:
 * - `--no-opt`: no TurboFan. The agent is I/O and small per-event work, which the interpreter
 *   and the baseline compiler run about as fast, while TurboFan's compile jobs and code cost
 *   4–8 MB RSS per agent. Bulk BGP ingest is ~4x slower (300 000 prefixes 0.12 → 0.49 s),
 *   bounded by the agent's max-prefix of 100 000 per peer.
 * - `--semi-space-growth-factor=1`: the young generation keeps the size it has (1–2 MB)
 *   instead of growing to 32 MB under a burst of survivors, 6–8 MB less RSS; the agent's
 *   allocations per event are small. The old generation is not capped on purpose: a node that
 *   learns many routes must not die of a heap limit.
 */
export const AGENT_V8_FLAGS: readonly string[] = ['--no-opt', '--semi-space-growth-factor=1'];

export function applyAgentV8Flags(): void {
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
}

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
  // the agent's modules (and the built-ins they import) are loaded by now
  applyAgentV8Flags();
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
