// The command frame without etcd: help, usage errors, version, lab, completion, colour rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { tsctl } from './test-helpers.js';
import { commandTree } from './cli.js';
import { colourEnabled, renderTable } from './output.js';
import { captureIo } from './io.js';

const BIN = fileURLToPath(new URL('../../../node_modules/.bin/tsctl', import.meta.url));

test('node_modules/.bin/tsctl --help prints the command tree', async () => {
  const { stdout } = await promisify(execFile)(BIN, ['--help'], { timeout: 20_000 });
  assert.match(stdout, /^tsctl <command> \[flags\]/);
  for (const line of [
    'tsctl node [--ip IP] [--ip6 IP6] [--as ASN] [--name NAME] [--libnetwork] [--detach] [--log-dir DIR]',
    'tsctl node stop',
    'tsctl node remove --name NAME [--remove-endpoints]',
    'tsctl node bgp peer add IP as ASN',
    'tsctl status',
    'tsctl pool remove CIDR...',
    'tsctl pool show [--ipv4|--ipv6]',
    'tsctl bgp default-node-as [ASN]',
    'tsctl bgp node-mesh [on|off]',
    'tsctl ipam show [--ip IP] [--show-blocks]',
    'tsctl ipam check [--release]',
    'tsctl version',
    'tsctl completion',
  ]) {
    assert.ok(stdout.includes(line), `help lists "${line}"`);
  }
  assert.ok(stdout.includes(commandTree()));
  for (const flag of ['--etcd-endpoints', '--etcd-ca', '--etcd-cert', '--etcd-key', '--run-dir', '--name', '--output', '--debug']) {
    assert.ok(stdout.includes(flag), `help shows global flag ${flag}`);
  }
});

test('every command --help has an example', async () => {
  const commands = [
    ['node'], ['node', 'stop'], ['node', 'show'], ['node', 'remove'], ['node', 'bgp', 'peer', 'add'], ['node', 'bgp', 'peer', 'remove'],
    ['node', 'bgp', 'peer', 'show'], ['status'], ['pool', 'add'], ['pool', 'remove'], ['pool', 'show'], ['bgp', 'peer', 'add'],
    ['bgp', 'peer', 'remove'], ['bgp', 'peer', 'show'], ['bgp', 'default-node-as'], ['bgp', 'node-mesh'], ['ipam', 'show'],
    ['ipam', 'release'], ['ipam', 'check'], ['version'], ['lab'], ['lab', 'up'], ['lab', 'status'], ['lab', 'exec'],
    ['lab', 'down'],
  ];
  for (const c of commands) {
    const r = await tsctl([...c, '--help']);
    assert.equal(r.code, 0, `${c.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^tsctl ${c.join(' ')}`), `usage line of ${c.join(' ')}`);
    assert.match(r.stdout, /Examples:\n {2}tsctl /, `example in ${c.join(' ')} --help`);
  }
});

test('usage errors: one line naming the problem and the help to read, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [[], /^no command given; see 'tsctl --help'\n$/],
    [['frobnicate'], /^unknown command "frobnicate"; see 'tsctl --help'\n$/],
    [['pol', 'show'], /^unknown command "pol" \(did you mean "pool"\?\); see 'tsctl --help'\n$/],
    [['pool', 'add', '10.0.0.0/16', '--bogus'], /^unknown command or flag: bogus; see 'tsctl pool add --help'\n$/],
    [['pool', 'add'], /^missing argument; see 'tsctl pool add --help'\n$/],
    [['pool'], /^give a subcommand: pool add\|remove\|show; see 'tsctl pool --help'\n$/],
    [['bgp', 'node-mesh', 'maybe'], /^invalid value "maybe" for state: choose on or off; see 'tsctl bgp node-mesh --help'\n$/],
    [['bgp', 'peer', 'add', '198.51.100.10', '64512'], /^expected "add IP as ASN" \(e\.g\. add 198\.51\.100\.10 as 64512\), got "add 198\.51\.100\.10 64512"/],
    [['node', 'remove'], /^node remove needs the node's name: tsctl node remove --name NAME\n$/],
    [['pool', 'show', '--ipv4', '--ipv6'], /^arguments ipv4 and ipv6 are mutually exclusive; see 'tsctl pool show --help'\n$/],
    [['-o', 'yaml', 'version'], /^invalid value "yaml" for output: choose table or json; see 'tsctl --help'\n$/],
  ];
  for (const [args, message] of cases) {
    const r = await tsctl(args);
    assert.equal(r.code, 2, `exit code of ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
});

test('errors: one line without --debug, the stack with it', async () => {
  const args = ['pool', 'show', '--etcd-ca', '/nonexistent/ca.pem', '--etcd-endpoints', 'http://127.0.0.1:9'];
  const plain = await tsctl(args);
  assert.equal(plain.code, 1);
  assert.equal(plain.stderr, 'cannot read etcd CA certificate /nonexistent/ca.pem: ENOENT; check --etcd-ca/ETCD_CA_CERT_FILE\n');
  const debug = await tsctl([...args, '--debug']);
  assert.equal(debug.code, 1);
  const lines = debug.stderr.trimEnd().split('\n');
  assert.equal(lines[0], 'cannot read etcd CA certificate /nonexistent/ca.pem: ENOENT; check --etcd-ca/ETCD_CA_CERT_FILE');
  assert.match(lines.slice(1).join('\n'), /^TsnetError: .*\n\s+at /);
});

test('version: client version, node not running; -o json', async () => {
  const env = { TSNET_RUN_DIR: '/nonexistent/tsnet-run' };
  const r = await tsctl(['version'], env);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'Client version: 0.1.0\nNode version:   (node not running)\n');
  assert.equal((await tsctl(['--version'], env)).stdout, r.stdout);
  const j = await tsctl(['version', '-o', 'json'], env);
  assert.deepEqual(JSON.parse(j.stdout), { client: '0.1.0', node: null });
});

test('lab: subcommands listed, bad options refused before anything is created', async () => {
  const help = await tsctl(['lab', '--help']);
  assert.equal(help.code, 0);
  for (const sub of ['up', 'status', 'exec', 'down']) assert.match(help.stdout, new RegExp(`tsctl lab ${sub}`));
  const missing = await tsctl(['lab']);
  assert.equal(missing.code, 2);
  const bad = await tsctl(['lab', 'up', '--mode', 'gre']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid value "?gre"? for mode: choose native or vxlan or ipip/);
  const few = await tsctl(['lab', 'up', '--hosts', '1'], { TSNET_LAB_DIR: '/nonexistent/tsnet-lab-test' });
  assert.equal(few.code, 1);
  assert.equal(few.stderr, '--hosts must be a whole number from 2 to 50 (got 1)\n');
});

test('completion prints a bash script and answers completion queries', async () => {
  const r = await tsctl(['completion']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /complete -o bashdefault -o default -F _tsctl_yargs_completions tsctl/);
  const q = await tsctl(['--get-yargs-completions', 'tsctl', 'pool', '']);
  assert.deepEqual(q.stdout.trim().split('\n').slice(0, 3), ['add', 'remove', 'show']);
});

test('colour only on a terminal and never with NO_COLOR', () => {
  assert.equal(colourEnabled(captureIo({}, true)), true);
  assert.equal(colourEnabled(captureIo({ NO_COLOR: '1' }, true)), false);
  assert.equal(colourEnabled(captureIo({}, false)), false);
});

test('tables: calicoctl layout, centred, rules only around the header and at the bottom', () => {
  assert.equal(
    renderTable(['CIDR', 'Block size', 'Options'], [['192.168.0.0/16', '26', 'ipip,nat-outgoing'], ['fd80:24e2:f998:72d6::/64', '122', '']]),
    [
      '+--------------------------+------------+-------------------+',
      '|           CIDR           | Block size |      Options      |',
      '+--------------------------+------------+-------------------+',
      '|      192.168.0.0/16      |     26     | ipip,nat-outgoing |',
      '| fd80:24e2:f998:72d6::/64 |    122     |                   |',
      '+--------------------------+------------+-------------------+',
      '',
    ].join('\n'),
  );
});
