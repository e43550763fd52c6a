/** `tsctl lab status`: each host's agent view, the routes it learned, and the workload ping matrix. */
import { join } from 'node:path';
import { pingPairs } from './plan.js';
import { hostDir, type LabState } from './state.js';
import { hostEnv } from './up.js';
import { inNetnsEnv } from './procs.js';
import { dockerPing } from './docker.js';

export interface LabHostReport {
  name: string;
  ip: string;
  workload: string | null;
  /** agent reachable on its control socket */
  running: boolean;
  peers: Array<{ address: string; state: string; info: string }>;
  /** `tsctl status` as the operator sees it */
  statusText: string;
  /** kernel routes the agent programmed (protocol tsnet) */
  routes: string[];
}

export interface LabReport {
  mode: string;
  /** what the workloads are: docker containers or plugin-created endpoints in namespaces */
  workloads: 'docker' | 'netns';
  hosts: LabHostReport[];
  ping: Record<string, boolean>;
}

async function hostReport(state: LabState, labDir: string, tsctlBin: string, name: string): Promise<LabHostReport> {
  const ns = `${state.plan.prefix}${name}`;
  const env = hostEnv(state, labDir, name);
  const plan = state.plan.hosts.find((h) => h.name === name)!;
  const report: LabHostReport = {
    name,
    ip: plan.ip,
    workload: state.workloads[name] ?? null,
    running: false,
    peers: [],
    statusText: '',
    routes: [],
  };
  try {
    const st = JSON.parse(await inNetnsEnv(ns, [tsctlBin, 'status', '-o', 'json'], env, 10_000)) as {
      peers: Array<{ address: string; state: string; info: string }>;
    };
    report.running = true;
    report.peers = st.peers.map((p) => ({ address: p.address, state: p.state, info: p.info }));
    report.statusText = await inNetnsEnv(ns, [tsctlBin, 'status'], env, 10_000);
  } catch (err) {
    report.statusText = (err as Error).message;
  }
  try {
    const routes = await inNetnsEnv(ns, ['ip', 'route', 'show'], env, 5000);
    report.routes = routes
      .split('\n')
      .filter((l) => / proto (tsnet|80) /.test(`${l} `))
      .map((l) => l.trim());
  } catch {
    /* host gone: reported as not running */
  }
  return report;
}

/** Pings every workload from every other one (bounded: 1 s each, 16 at a time). */
export async function pingMatrix(state: LabState, labDir: string): Promise<Record<string, boolean>> {
  const ping = (from: string, ip: string): Promise<boolean> =>
    state.docker
      ? dockerPing(labDir, from, ip)
      : inNetnsEnv(`${state.plan.prefix}${from}w`, ['busybox', 'ping', '-c1', '-W1', ip], process.env, 5000).then(
          () => true,
          () => false,
        );
  const names = state.plan.hosts.map((h) => h.name).filter((n) => state.workloads[n]);
  const pairs = pingPairs(names);
  const result: Record<string, boolean> = {};
  let next = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const [a, b] = pairs[next++]!;
      result[`${a}->${b}`] = await ping(a, state.workloads[b]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, pairs.length) }, worker));
  return Object.fromEntries(Object.entries(result).sort());
}

export async function collectStatus(state: LabState, labDir: string, tsctlBin: string): Promise<LabReport> {
  const hosts = await Promise.all(state.plan.hosts.map((h) => hostReport(state, labDir, tsctlBin, h.name)));
  return { mode: state.mode, workloads: state.docker ? 'docker' : 'netns', hosts, ping: await pingMatrix(state, labDir) };
}

/** Where each host's files are, for the operator. */
export const hostLogPath = (labDir: string, host: string): string => join(hostDir(labDir, host), 'tsnet.log');
