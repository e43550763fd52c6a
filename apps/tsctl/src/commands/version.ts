/** `tsctl version`: the client's version and, when an agent answers on the run dir, the agent's. */
import { readFileSync } from 'node:fs';
import { callAgent, type AgentStatus } from '@tsnet/node/control-api';
import type { CommandGroup } from '../command.js';

/** The version in apps/tsctl/package.json (dist/commands → ../..). */
export const CLIENT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface VersionJson {
  client: string;
  /** null when no agent answers on the run dir */
  node: { version: string; pid: number } | null;
}

export const versionCommand: CommandGroup = {
  tree: ['version'],
  register: (y, run) =>
    y.command(
      'version',
      'Show the tsctl version and the running node agent version',
      (c) => c.example('$0 version', 'Client version: 0.1.0 / Node version: 0.1.0'),
      run(async (ctx) => {
        const status = await callAgent<AgentStatus>(ctx.runDir, 'GET', '/status', undefined, 2000).catch(() => null);
        const v: VersionJson = { client: CLIENT_VERSION, node: status ? { version: status.version, pid: status.pid } : null };
        if (ctx.json) return ctx.printJson(v);
        ctx.out(`Client version: ${v.client}\nNode version:   ${v.node ? v.node.version : '(node not running)'}`);
      }),
    ),
};
