/**
 * `lab up --docker`: a real dockerd per lab host (its own network and mount namespace, the host's
 * tsnet plugin socket bind-mounted on /run/docker/plugins), a tsnet network created once and
 * mirrored by the plugin to every host, and one busybox container per host as the workload.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxRootfsTar, dockerdInNetnsArgs, run, waitFor } from '@tsnet/testkit';
import { hostDir, type LabState } from './state.js';

export const LAB_IMAGE = 'tsnet/busybox:latest';
export const LAB_NETWORK = 'labnet';

export const dockerDir = (labDir: string, host: string): string => join(hostDir(labDir, host), 'docker');
export const dockerSocket = (labDir: string, host: string): string => join(dockerDir(labDir, host), 'docker.sock');
export const containerName = (host: string): string => `w-${host}`;

/** The docker CLI against one lab host's daemon (bounded). */
export function docker(labDir: string, host: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return run('docker', ['-H', `unix://${dockerSocket(labDir, host)}`, ...args], timeoutMs).then((s) => s.trim());
}

/** Starts dockerd in host `host`; returns the nsenter argv to spawn (the PID becomes dockerd's). */
export async function dockerdArgs(state: LabState, labDir: string, host: string): Promise<string[]> {
  const dir = dockerDir(labDir, host);
  await mkdir(dir, { recursive: true });
  return dockerdInNetnsArgs({
    netns: `${state.plan.prefix}${host}`,
    pluginDir: join(hostDir(labDir, host), 'plugins'),
    dir,
  });
}

export async function waitDockerd(labDir: string, host: string): Promise<void> {
  await waitFor(
    `dockerd on ${host} to answer`,
    async () => (await docker(labDir, host, ['version', '--format', '{{.Server.Version}}'], 5000)) !== '',
    { timeoutMs: 90_000, intervalMs: 500 },
  );
}

export async function importImage(labDir: string, host: string): Promise<void> {
  const tar = await busyboxRootfsTar(dockerDir(labDir, host));
  await docker(labDir, host, ['import', '--change', 'ENV PATH=/bin', tar, LAB_IMAGE], 120_000);
}

/** `docker network create` on the first host; the plugin mirrors it into the others' dockerd. */
export async function createLabNetwork(state: LabState, labDir: string): Promise<void> {
  const [first, ...rest] = state.plan.hosts.map((h) => h.name);
  await docker(labDir, first!, [
    'network', 'create', '--driver', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', state.plan.pool.cidr, LAB_NETWORK,
  ]);
  for (const h of rest)
    await waitFor(
      `network ${LAB_NETWORK} to appear on ${h}`,
      async () => (await docker(labDir, h, ['network', 'ls', '--format', '{{.Name}}'], 10_000)).split('\n').includes(LAB_NETWORK),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
}

/** `docker run -d` of the workload on `host`; returns its address. */
export async function runWorkload(labDir: string, host: string): Promise<string> {
  const name = containerName(host);
  await docker(labDir, host, ['run', '-d', '--name', name, '--net', LAB_NETWORK, LAB_IMAGE, 'sleep', '2147483647'], 120_000);
  const ip = await docker(labDir, host, [
    'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name,
  ]);
  if (!ip) throw new Error(`container ${name} on ${host} got no address`);
  return ip;
}

/** One ping from host a's container to `ip`. */
export function dockerPing(labDir: string, from: string, ip: string): Promise<boolean> {
  return docker(labDir, from, ['exec', containerName(from), 'ping', '-c1', '-W1', ip], 5000).then(
    () => true,
    () => false,
  );
}
