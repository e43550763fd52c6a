// `tsctl status` against a real HTTP server on a unix socket in a temp run dir serving a fixed
// AgentStatus (the client and the rendering, end to end), and the not-running case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { controlSocketPath, type AgentStatus } from '@tsnet/node/control-api';
import { tempDir } from '@tsnet/testkit';
import { tsctl } from './test-helpers.js';
import { formatSince, humanDuration, renderStatus } from './commands/status.js';

function fixture(): AgentStatus {
  const since = new Date(Date.now() - 60_000);
  return {
    running: true,
    pid: 4242,
    version: '0.1.0',
    startedAt: new Date(Date.now() - 300_000).toISOString(),
    uptimeSeconds: 300,
    node: { name: 'host1', ipv4: '198.51.100.1', ipv6: null, asn: 64511, asnInherited: true },
    peers: [
      {
        address: '198.51.100.2', family: 'ipv4', asn: 64511, type: 'node-to-node mesh', state: 'up', fsmState: 'Established',
        since: since.toISOString(), info: 'Established', prefixesReceived: 1, prefixesAccepted: 1, prefixesAdvertised: 1,
      },
      {
        address: '198.51.100.9', family: 'ipv4', asn: 64600, type: 'global', state: 'start', fsmState: 'Active',
        since: since.toISOString(), info: 'Active: Connection refused', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0,
      },
    ],
    errors: [],
  };
}

async function withFakeAgent(status: unknown, fn: (runDir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('tsctl-status');
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/status') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(status));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: 'no such path' }));
    }
  });
  try {
    await new Promise<void>((resolve) => server.listen(controlSocketPath(dir.path), resolve));
    await fn(dir.path);
  } finally {
    await new Promise((r) => server.close(r));
    await dir.remove();
  }
}

test('status renders the contract layout from the agent on the run dir', async () => {
  const status = fixture();
  await withFakeAgent(status, async (runDir) => {
    const r = await tsctl(['status', '--run-dir', runDir]);
    assert.equal(r.code, 0, r.stderr);
    const since = formatSince(new Date(status.peers[0]!.since!), new Date());
    assert.equal(
      r.stdout,
      [
        'tsnet node is running. Status: Up 5 minutes',
        '',
        'IPv4 BGP status',
        'IP: 198.51.100.1    AS Number: 64511 (inherited)',
        '+--------------+-------------------+-------------+----------+----------------------------+',
        '| Peer address |     Peer type     |    State    |  Since   |            Info            |',
        '+--------------+-------------------+-------------+----------+----------------------------+',
        `| 198.51.100.2 | node-to-node mesh |     up      | ${since} |        Established         |`,
        `| 198.51.100.9 |      global       |    start    | ${since} | Active: Connection refused |`,
        '+--------------+-------------------+-------------+----------+----------------------------+',
        '',
        'No IPv6 address configured.',
        '',
      ].join('\n'),
    );
    // TSNET_RUN_DIR works like --run-dir
    const viaEnv = await tsctl(['status'], { TSNET_RUN_DIR: runDir });
    assert.equal(viaEnv.stdout, r.stdout);
  });
});

test('status colours the state on a terminal, never with NO_COLOR or -o json', async () => {
  await withFakeAgent(fixture(), async (runDir) => {
    const tty = await tsctl(['status', '--run-dir', runDir], {}, true);
    assert.ok(tty.stdout.includes('\u001b[32mup\u001b[39m'), 'up in green');
    assert.ok(tty.stdout.includes('\u001b[33mstart\u001b[39m'), 'start in yellow');
    // colour codes do not break the table: every line of the table has the same visible width
    const ansi = new RegExp(String.fromCharCode(27) + '\\[\\d+m', 'g');
    const widths = new Set(tty.stdout.split('\n').filter((l) => /^[+|]/.test(l)).map((l) => l.replace(ansi, '').length));
    assert.equal(widths.size, 1);
    const noColor = await tsctl(['status', '--run-dir', runDir], { NO_COLOR: '1' }, true);
    assert.ok(!noColor.stdout.includes(String.fromCharCode(27)), 'no escape codes');
    const plain = await tsctl(['status', '--run-dir', runDir]);
    assert.equal(noColor.stdout, plain.stdout);
  });
});

test('status -o json is the AgentStatus as the agent sent it', async () => {
  const status = fixture();
  await withFakeAgent(status, async (runDir) => {
    const r = await tsctl(['status', '-o', 'json', '--run-dir', runDir]);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), status);
  });
});

test('status: exactly the contract example for one established mesh peer', () => {
  const s = fixture();
  const since = new Date(2026, 10, 21, 17, 54, 0); // local time, so the table shows 17:54:00 in any TZ
  s.peers = [{ ...s.peers[0]!, since: since.toISOString() }];
  const now = new Date(since.getTime() + 5 * 60_000);
  const text = renderStatus(s, now);
  assert.ok(
    text.startsWith(
      [
        'tsnet node is running. Status: Up 5 minutes',
        '',
        'IPv4 BGP status',
        'IP: 198.51.100.1    AS Number: 64511 (inherited)',
        '+--------------+-------------------+-------------+----------+-------------+',
        '| Peer address |     Peer type     |    State    |  Since   |    Info     |',
        '+--------------+-------------------+-------------+----------+-------------+',
        '| 198.51.100.2 | node-to-node mesh |     up      | 17:54:00 | Established |',
      ].join('\n'),
    ),
    text,
  );
});

test('status: IPv6 section, own AS, no peers, problems', () => {
  const s = fixture();
  s.node = { name: 'h', ipv4: '198.51.100.1', ipv6: 'fd00::1', asn: 64512, asnInherited: false };
  s.peers = [];
  s.errors = ['pool 10.0.0.0/16 needs ipip: kernel has no ipip module'];
  assert.equal(
    renderStatus(s, new Date()),
    [
      'tsnet node is running. Status: Up 5 minutes',
      '',
      'IPv4 BGP status',
      'IP: 198.51.100.1    AS Number: 64512',
      'No IPv4 peers found.',
      '',
      'IPv6 BGP status',
      'IP: fd00::1    AS Number: 64512',
      'No IPv6 peers found.',
      '',
      'Problems:',
      '  - pool 10.0.0.0/16 needs ipip: kernel has no ipip module',
      '',
    ].join('\n'),
  );
});

test('status when no agent answers: exit 1, "tsnet node is not running"', async () => {
  const dir = await tempDir('tsctl-status');
  try {
    const r = await tsctl(['status', '--run-dir', dir.path]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'tsnet node is not running\n');
    assert.equal(r.stdout, '');
    // a stale socket file with nothing listening is "not running" too
    await writeFile(controlSocketPath(dir.path), '');
    const stale = await tsctl(['status', '--run-dir', dir.path]);
    assert.equal(stale.code, 1);
    assert.equal(stale.stderr, 'tsnet node is not running\n');
  } finally {
    await dir.remove();
  }
});

test('humanDuration speaks like docker ps', () => {
  const cases: [number, string][] = [
    [0, 'Less than a second'], [1, '1 second'], [59, '59 seconds'], [60, 'About a minute'], [119, 'About a minute'],
    [300, '5 minutes'], [3599, '59 minutes'], [3600, 'About an hour'], [7200, '2 hours'], [47 * 3600, '47 hours'],
    [3 * 86400, '3 days'], [20 * 86400, '2 weeks'], [100 * 86400, '3 months'], [800 * 86400, '2 years'],
  ];
  for (const [s, want] of cases) assert.equal(humanDuration(s), want, `${s} s`);
});

test('formatSince: time of day within 24 h, else the date', () => {
  const now = new Date(2026, 10, 21, 18, 0, 0);
  assert.equal(formatSince(new Date(2026, 10, 21, 17, 54, 0), now), '17:54:00');
  assert.equal(formatSince(new Date(2026, 10, 19, 9, 5, 7), now), '2026-11-19');
});
