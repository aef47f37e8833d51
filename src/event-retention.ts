// Deletes boot events older than events.keepDays: a pass shortly after start, then hourly.
// Queries by MAC or branch use indexes and are bounded by their limit either way; this is
// about the disk, where every boot of every machine adds several rows.
import type { AppContext, Service, ServiceHealth } from './service.ts';
import { pruneBootEvents } from './model/events.ts';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Delay of the first pass (ms): not in the way of the start-up. */
  firstPassMs?: number;
  intervalMs?: number;
  now?: () => number;
}

export function createEventRetentionService(ctx: AppContext, opts: RetentionOptions = {}): Service {
  const keepDays = ctx.config.events.keepDays;
  if (keepDays === 0) return { name: 'retention', async start() {}, async stop() {}, health: () => ({ state: 'disabled' }) };
  const log = ctx.log.child({ svc: 'retention' });
  const now = opts.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let state: ServiceHealth['state'] = 'stopped';
  let last: { at: number; deleted: number } | undefined;
  const stopping = new AbortController();
  const pass = () => {
    const t = now();
    running = pruneBootEvents(ctx.db, t - keepDays * DAY_MS, { signal: stopping.signal })
      .then((deleted) => {
        last = { at: t, deleted };
        if (deleted > 0) log.info({ deleted, keepDays }, 'retention: deleted old boot events');
      })
      .catch((err: unknown) => log.error({ err }, 'retention: could not delete old boot events'));
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => { pass(); void running.then(() => { if (state === 'running') schedule(opts.intervalMs ?? 3_600_000); }); }, ms);
    timer.unref();
  };
  return {
    name: 'retention',
    async start() {
      state = 'running';
      schedule(opts.firstPassMs ?? 60_000);
    },
    async stop(graceMs) {
      state = 'stopping';
      clearTimeout(timer);
      // Each statement is a transaction of its own: ending between them loses nothing, and the
      // database is closed after this returns.
      stopping.abort();
      await Promise.race([running, new Promise((r) => setTimeout(r, graceMs).unref())]);
      state = 'stopped';
    },
    health: () => ({ state, detail: { keepDays, ...(last && { lastPass: new Date(last.at).toISOString(), deleted: last.deleted }) } }),
  };
}
