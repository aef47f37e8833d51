// Structured logs: one JSON line per event, with mac/branch fields where known.
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import type { LogLevel } from './config-schema.ts';

export type { Logger };

/** `fallback` is the level when the configuration sets none (config-schema.ts log.level). */
export function createLogger(config: Pick<Config, 'log'>, dest: NodeJS.WritableStream = process.stderr, fallback: LogLevel = 'info'): Logger {
  return pino({
    level: config.log.level ?? fallback,
    base: { name: 'branchboot' },
    formatters: { log: keepOurName },
  }, dest as pino.DestinationStream);
}

/**
 * A `name` field in a log call (an import's result: the image name) was written as a second
 * "name" key after ours: jq and journald's JSON readers keep the last one, so
 * `select(.name == "branchboot")` lost those lines. It is kept, as `objectName`.
 */
function keepOurName(obj: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(obj, 'name')) return obj;
  const { name, ...rest } = obj;
  return { ...rest, objectName: name };
}
