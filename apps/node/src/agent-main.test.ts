import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { AGENT_LAUNCHER, agentProcessArgs } from './control-api.js';
import { parseAgentOptionsArg } from './agent-main.js';
import type { AgentOptions } from './options.js';

const full: AgentOptions = {
  name: 'host1',
  ip: '198.51.100.1',
  ip6: 'fd00::1',
  asn: 64512,
  runDir: '/run/x',
  logDir: '/var/log/tsnet',
  libnetwork: true,
  etcd: {
    endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
    caFile: '/ca',
    certFile: '/cert',
    keyFile: '/key',
  },
  pluginDir: '/plugins',
  metricsAddr: '127.0.0.1:9100',
  bgpPort: 179,
};

test('the agent process gets the launcher and every resolved option (no V8 flags), callbacks left behind', () => {
  const args = agentProcessArgs({ ...full, onProgress: () => undefined, handleSignals: false });
  assert.deepEqual(args.slice(0, -1), [AGENT_LAUNCHER]);
  assert.ok(existsSync(AGENT_LAUNCHER), `${AGENT_LAUNCHER} exists`);
  assert.deepEqual(parseAgentOptionsArg(args.at(-1)), full);
  const minimal = { ...full, libnetwork: false } as Partial<AgentOptions>;
  delete minimal.ip6;
  delete minimal.asn;
  delete minimal.logDir;
  assert.deepEqual(parseAgentOptionsArg(agentProcessArgs(minimal as AgentOptions).at(-1)), minimal);
});

test('a missing or malformed options argument is one line naming what is wrong', () => {
  assert.throws(() => parseAgentOptionsArg(undefined), {
    message: 'usage: tsnet-agent <AgentOptions JSON> (started by tsctl node)',
  });
  assert.throws(() => parseAgentOptionsArg('{name:'), {
    message: 'the agent options argument is not JSON (start the agent with tsctl node)',
  });
  assert.throws(
    () => parseAgentOptionsArg('null'),
    /lack name, ip, runDir, pluginDir, metricsAddr, bgpPort, etcd\.endpoints/,
  );
  const { bgpPort: _b, ...noPort } = full;
  assert.throws(() => parseAgentOptionsArg(JSON.stringify({ ...noPort, name: 7 })), {
    message: 'the agent options lack name, bgpPort (start the agent with tsctl node)',
  });
});
