/** Text output of `lab up` / `lab status` for people (scripts use -o json). */
import type { LabReport } from './status.js';

export function renderPingMatrix(report: LabReport): string {
  const names = report.hosts.filter((h) => h.workload).map((h) => h.name);
  if (names.length === 0) return 'no workloads';
  const corner = 'from\\to';
  const first = Math.max(corner.length, ...names.map((n) => n.length)) + 2;
  const w = Math.max(4, ...names.map((n) => n.length)) + 2;
  const pad = (s: string) => s.padEnd(w);
  const lines = [corner.padEnd(first) + names.map(pad).join('')];
  for (const a of names)
    lines.push(
      a.padEnd(first) + names.map((b) => pad(a === b ? '-' : report.ping[`${a}->${b}`] ? 'ok' : 'FAIL')).join(''),
    );
  return lines.join('\n');
}

export function renderReport(report: LabReport, labDirHint: string): string {
  const out: string[] = [];
  for (const h of report.hosts) {
    out.push(`=== ${h.name} (${h.ip})${h.workload ? `  workload ${h.workload}` : ''}`);
    out.push(h.statusText.trimEnd() || '(no status)');
    out.push('', 'Routes learned (proto tsnet):');
    out.push(...(h.routes.length ? h.routes.map((r) => `  ${r}`) : ['  (none)']), '');
  }
  const results = Object.values(report.ping);
  const ok = results.filter(Boolean).length;
  out.push(`=== Ping matrix (${report.mode}, ${report.workloads === 'docker' ? 'docker containers' : 'workload namespaces'})`, renderPingMatrix(report), '');
  out.push(`${ok}/${results.length} workload pairs reach each other.`);
  out.push(
    '',
    'Look around:   tsctl lab status | tsctl lab exec h1 -- tsctl status | tsctl lab exec h1 -- ip route',
    `Logs:          ${labDirHint}/<host>/tsnet.log`,
    'Tear down:     tsctl lab down',
  );
  return out.join('\n');
}

/** The `-o json` shape: hosts with their peers' states, and the ping matrix. */
export function reportJson(report: LabReport): object {
  return {
    mode: report.mode,
    workloads: report.workloads,
    hosts: report.hosts.map((h) => ({
      name: h.name,
      ip: h.ip,
      workload: h.workload,
      running: h.running,
      peers: h.peers,
      routes: h.routes,
    })),
    ping: report.ping,
  };
}
