// Structured logs: one JSON line per event, with mac/branch fields where known.
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import type { LogLevel } from './config-schema.ts';

export type { Logger };

/** `fallback` is the level when the configuration sets none (config-schema.ts log.level). */
export function createLogger(config: Pick<Config, 'log'>, dest: NodeJS.WritableStream = process.stderr, fallback: LogLevel = 'info'): Logger {
  return pino({ level: config.log.level ?? fallback, base: { name: 'branchboot' } }, dest as pino.DestinationStream);
}
