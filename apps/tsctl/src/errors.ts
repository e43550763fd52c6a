/**
 * The error layer: every failure a user can act on becomes one line on stderr and an exit code
 * (1 = failure, 2 = usage). Anything unexpected is a bug: one line too, with the stack only under
 * --debug.
 */
import { AgentNotRunningError } from '@tsnet/node/control-api';
import { isTsnetError } from '@tsnet/datastore';

/** A failure with a message fit for users: what is wrong and what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Wrong command line: unknown command or flag, missing or malformed argument (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

export interface ReportedError {
  line: string;
  exitCode: 1 | 2;
  /** only for unexpected errors (shown with --debug) */
  stack?: string;
}

/** Maps any thrown value to the line the user sees and the exit code. */
export function reportError(err: unknown): ReportedError {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  if (err instanceof AgentNotRunningError) {
    return { line: `tsnet node is not running (nothing answers on ${err.socketPath}); start it with: tsctl node`, exitCode: 1 };
  }
  if (isTsnetError(err)) return { line: err.message, exitCode: 1, stack: err.stack };
  const e = err instanceof Error ? err : new Error(String(err));
  return { line: `unexpected error: ${firstLine(e.message)} (run with --debug for details)`, exitCode: 1, stack: e.stack };
}

const firstLine = (s: string): string => s.split('\n', 1)[0] ?? '';
