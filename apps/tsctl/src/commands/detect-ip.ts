/**
 * `No IP provided. Using detected IP: X`: the IPv4 address of the interface that holds the default
 * route, read with `ip -json` (parsers are pure; the command runner is injectable so tests can run
 * it inside a network namespace).
 */
import { execa } from 'execa';
import { CliError } from '../errors.js';

/** Runs a command and returns its stdout. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<string>;

export const runLocal: CommandRunner = async (cmd, args) => (await execa(cmd, args, { timeout: 5000 })).stdout;

export interface DetectedAddress {
  ip: string;
  prefixLength: number;
  dev: string;
}

/** The device of the first default route in `ip -json route show default` output. */
export function parseDefaultRouteDevice(json: string): string | undefined {
  const routes = parseArray(json) as { dst?: string; dev?: string }[];
  return routes.find((r) => r.dev && (r.dst === undefined || r.dst === 'default'))?.dev;
}

/** The first global IPv4 address in `ip -json -4 addr show dev IF` output. */
export function parseFirstIpv4(json: string): { ip: string; prefixLength: number } | undefined {
  const links = parseArray(json) as { addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[] }[];
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      if (a.family === 'inet' && a.local && a.scope !== 'host') return { ip: a.local, prefixLength: a.prefixlen ?? 32 };
    }
  }
  return undefined;
}

export async function detectIpv4(run: CommandRunner = runLocal): Promise<DetectedAddress> {
  const hint = 'pass the address with --ip IP';
  let dev: string | undefined;
  try {
    dev = parseDefaultRouteDevice(await run('ip', ['-json', 'route', 'show', 'default']));
  } catch (err) {
    throw new CliError(`cannot detect this host's IP (ip route failed: ${(err as Error).message.split('\n')[0]}); ${hint}`);
  }
  if (!dev) throw new CliError(`cannot detect this host's IP: there is no IPv4 default route; ${hint}`);
  const addr = parseFirstIpv4(await run('ip', ['-json', '-4', 'addr', 'show', 'dev', dev]));
  if (!addr) throw new CliError(`cannot detect this host's IP: ${dev} (the default route's interface) has no IPv4 address; ${hint}`);
  return { ...addr, dev };
}

function parseArray(json: string): unknown[] {
  if (json.trim() === '') return [];
  const v: unknown = JSON.parse(json);
  return Array.isArray(v) ? v : [];
}
