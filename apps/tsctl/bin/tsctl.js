#!/usr/bin/env node
// tsctl: the tsnet command line (sources in ../src, compiled to ../dist).
import { main } from '../dist/cli.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command that left a handle open (e.g. a slow etcd close) must not keep the shell waiting.
setTimeout(() => process.exit(code), 2000).unref();
