// @tsnet/tsctl: the tsnet command line. `main(argv, io)` runs one command and returns its exit code.
export { main, commandTree, COMMAND_GROUPS } from './cli.js';
export { processIo, captureIo, type Io, type CapturedIo } from './io.js';
export { CliError, UsageError, reportError } from './errors.js';
