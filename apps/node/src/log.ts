/** pino JSON logs: to stdout, or to `<logDir>/tsnet-node.log` when a log dir is given. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, destination, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, logDir?: string, level = process.env.TSNET_LOG_LEVEL ?? 'info'): Logger {
  // stdout synchronously: a detached agent's stdout and stderr share one log file, and the reason
  // of a failed start (stderr, last) must land after the records before it
  if (!logDir) return pino({ name: 'tsnet-node', level, base: { node: name } }, destination({ dest: 1, sync: true }));
  mkdirSync(logDir, { recursive: true });
  const dest = destination({ dest: join(logDir, 'tsnet-node.log'), sync: false, mkdir: true });
  return pino({ name: 'tsnet-node', level, base: { node: name } }, dest);
}
