// A service that runs one job now and then (publishing nfs/cifs roots, pruning old boot events).
// The next pass is timed from the end of the last, never from a fixed clock: a pass that
// outlasts the interval (copying a 4 GB squashfs to a slow export) must not have a second one
// start beside it on the same files.
import type { Logger } from 'pino';
import type { Service, ServiceHealth } from './service.ts';

export interface PeriodicJob {
  name: string;
  log: Logger;
  /** Delay of the first pass after start (ms); 0 runs it at once. */
  firstPassMs: number;
  /** Pause between the end of one pass and the start of the next (ms). */
  intervalMs: number;
  /** One pass. `signal` aborts when the service stops; resolve to what /healthz shows of it. */
  pass(signal: AbortSignal): Promise<Record<string, unknown>>;
  /** Logged with the error when a pass fails; the next pass runs as usual. */
  failure: string;
  /** Settings shown in /healthz beside the last pass. */
  detail?: Record<string, unknown>;
  now?: () => number;
}

/** The stand-in for a job its configuration switches off. */
export function disabledService(name: string): Service {
  return { name, async start() {}, async stop() {}, health: () => ({ state: 'disabled' }) };
}

export function periodicService(job: PeriodicJob): Service {
  const now = job.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let state: ServiceHealth['state'] = 'stopped';
  let last: Record<string, unknown> | undefined;
  const stopping = new AbortController();
  const run = async () => {
    const at = now();
    try {
      last = { lastPass: new Date(at).toISOString(), ...(await job.pass(stopping.signal)) };
    } catch (err) {
      if (!stopping.signal.aborted) job.log.error({ err }, job.failure);
    }
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = run();
      void running.then(() => { if (state === 'running') schedule(job.intervalMs); });
    }, ms);
    timer.unref();
  };
  return {
    name: job.name,
    async start() {
      state = 'running';
      schedule(job.firstPassMs);
    },
    async stop(graceMs) {
      state = 'stopping';
      clearTimeout(timer);
      stopping.abort();
      await Promise.race([running, new Promise((r) => setTimeout(r, graceMs).unref())]);
      state = 'stopped';
    },
    health: () => ({ state, detail: { ...job.detail, ...last } }),
  };
}
