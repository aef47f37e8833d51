// Deletes boot events older than events.keepDays: a pass shortly after start, then hourly.
// Queries by MAC or branch use indexes and are bounded by their limit either way; this is
// about the disk, where every boot of every machine adds several rows.
import type { AppContext, Service } from './service.ts';
import { pruneBootEvents } from './model/events.ts';
import { disabledService, periodicService } from './periodic-service.ts';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Delay of the first pass (ms): not in the way of the start-up. */
  firstPassMs?: number;
  intervalMs?: number;
  now?: () => number;
}

export function createEventRetentionService(ctx: AppContext, opts: RetentionOptions = {}): Service {
  const keepDays = ctx.config.events.keepDays;
  if (keepDays === 0) return disabledService('retention');
  const log = ctx.log.child({ svc: 'retention' });
  const now = opts.now ?? Date.now;
  return periodicService({
    name: 'retention',
    log,
    firstPassMs: opts.firstPassMs ?? 60_000,
    intervalMs: opts.intervalMs ?? 3_600_000,
    now,
    detail: { keepDays },
    failure: 'retention: could not delete old boot events',
    // Each delete statement is a transaction of its own: stopping between them loses nothing.
    async pass(signal) {
      const deleted = await pruneBootEvents(ctx.db, now() - keepDays * DAY_MS, { signal });
      if (deleted > 0) log.info({ deleted, keepDays }, 'retention: deleted old boot events');
      return { deleted };
    },
  });
}
