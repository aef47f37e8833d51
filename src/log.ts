// Structured logs: one JSON line per event, with mac/branch fields where known.
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export function createLogger(config: Pick<Config, 'log'>, dest: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level: config.log.level, base: { name: 'branchboot' } }, dest as pino.DestinationStream);
}
