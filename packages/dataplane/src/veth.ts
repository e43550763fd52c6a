// Workload veths for the Docker plugin, and a netns "container" set up the way Docker would
// (for tests and the lab without Docker).
import { ExecaRunner, formatCommand, type CommandRunner } from './runner.js';
import { WORKLOAD_GATEWAY_V4 } from './types.js';
import { WORKLOAD_IF_PREFIX } from './diff.js';

/** Host and temporary (container-side) interface names for an endpoint id. */
export function workloadIfNames(endpointId: string): { hostIfName: string; tempIfName: string } {
  const id = endpointId.slice(0, 11);
  return { hostIfName: `${WORKLOAD_IF_PREFIX}${id}`, tempIfName: `tmp${id}` };
}

async function must(runner: CommandRunner, cmd: string, args: string[], what: string): Promise<void> {
  const res = await runner.run(cmd, args);
  if (res.exitCode !== 0)
    throw new Error(`${what} failed (${formatCommand(cmd, args)}): ${res.stderr.trim()}`);
}

export interface CreateWorkloadVethOptions {
  hostIfName: string;
  tempIfName: string;
  mtu: number;
  runner?: CommandRunner;
}

/**
 * Creates the veth pair, brings the host side up with proxy ARP on (the reconciler keeps it so),
 * and leaves the temporary side for Docker to move into the container.
 */
export async function createWorkloadVeth(opts: CreateWorkloadVethOptions): Promise<void> {
  const runner = opts.runner ?? new ExecaRunner();
  const { hostIfName: host, tempIfName: temp, mtu } = opts;
  await must(
    runner,
    'ip',
    ['link', 'add', host, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', temp, 'mtu', String(mtu)],
    `creating veth ${host}`,
  );
  try {
    await must(runner, 'ip', ['link', 'set', host, 'up'], `bringing up ${host}`);
    await must(
      runner,
      'sysctl',
      ['-w', `net/ipv4/conf/${host}/proxy_arp=1`, `net/ipv4/neigh/${host}/proxy_delay=0`],
      `enabling proxy ARP on ${host}`,
    );
  } catch (err) {
    await runner.run('ip', ['link', 'del', host]);
    throw err;
  }
}

/** Deletes a workload's host veth (the peer goes with it); a missing device is not an error. */
export async function deleteWorkloadVeth(
  hostIfName: string,
  runner: CommandRunner = new ExecaRunner(),
): Promise<void> {
  const res = await runner.run('ip', ['link', 'del', hostIfName]);
  if (res.exitCode !== 0 && !/Cannot find device|does not exist/i.test(res.stderr)) {
    throw new Error(`deleting veth ${hostIfName} failed: ${res.stderr.trim()}`);
  }
}

export interface NetnsWorkloadOptions {
  /** the veth's temporary side (in the runner's namespace) */
  tempIfName: string;
  /** the workload's network namespace (a name under /run/netns) */
  netns: string;
  /** IPv4 address, no prefix length */
  ip: string;
  /** name inside the namespace (default eth0) */
  ifName?: string;
  runner?: CommandRunner;
}

/**
 * Does what Docker does with the plugin's answer: moves the temporary side into the namespace,
 * renames it, sets `ip/32`, a connected route to 169.254.1.1 and the default route via it.
 */
export async function configureNetnsWorkload(opts: NetnsWorkloadOptions): Promise<void> {
  const runner = opts.runner ?? new ExecaRunner();
  const dev = opts.ifName ?? 'eth0';
  const ns = ['-n', opts.netns];
  await must(
    runner,
    'ip',
    ['link', 'set', opts.tempIfName, 'netns', opts.netns],
    `moving ${opts.tempIfName} into ${opts.netns}`,
  );
  const steps: string[][] = [
    [...ns, 'link', 'set', opts.tempIfName, 'name', dev],
    [...ns, 'addr', 'add', `${opts.ip}/32`, 'dev', dev],
    [...ns, 'link', 'set', 'lo', 'up'],
    [...ns, 'link', 'set', dev, 'up'],
    [...ns, 'route', 'add', WORKLOAD_GATEWAY_V4, 'dev', dev, 'scope', 'link'],
    [...ns, 'route', 'add', 'default', 'via', WORKLOAD_GATEWAY_V4, 'dev', dev],
  ];
  for (const args of steps)
    await must(runner, 'ip', args, `configuring workload ${opts.ip} in ${opts.netns}`);
}
