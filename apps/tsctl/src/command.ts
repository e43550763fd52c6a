/**
 * How command modules plug into the CLI: each group registers its yargs commands and lists its
 * synopsis lines for the command tree in `tsctl --help`. Handlers are wrapped by `run`, which
 * builds the Context from the global flags; a handler returns nothing (exit 0) or an exit code.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import type { Context } from './context.js';

export type Args = ArgumentsCamelCase<Record<string, unknown>>;
export type Handler = (ctx: Context, args: Args) => Promise<number | void>;
/** Wraps a handler for yargs. */
export type Run = (handler: Handler) => (args: Args) => Promise<void>;

export interface CommandGroup {
  /** synopsis lines, without the leading `tsctl ` */
  tree: string[];
  register(y: Argv, run: Run): Argv;
}

/** Reads a string flag or positional that yargs may have parsed as a number. */
export const str = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));
export const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
