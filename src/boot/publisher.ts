// Keeps boot.exportDir in step with the inventory for nfs/cifs roots: the system's NFS server or
// Samba serves that folder, so whatever a client may mount must already be there. Publishing is
// idempotent, so a periodic pass catches new imports and assignments without hooks in every
// place that changes them.
import type { AppContext, Service, ServiceHealth } from '../service.ts';
import { sharedStore } from '../store/store.ts';
import { publishNeeded } from './publish.ts';

const INTERVAL_MS = 60_000;

export function createPublisherService(ctx: AppContext): Service {
  const dir = ctx.config.boot.exportDir;
  if (!dir) return { name: 'publish', async start() {}, async stop() {}, health: () => ({ state: 'disabled' }) };
  const log = ctx.log.child({ svc: 'publish' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let state: ServiceHealth['state'] = 'stopped';
  let last: { at: number; versions: number } | undefined;
  const pass = () => {
    running = publishNeeded(ctx.db, sharedStore(ctx), dir, log)
      .then((r) => { last = { at: Date.now(), versions: r.length }; })
      .catch((err: unknown) => log.error({ err }, 'publish pass failed'));
  };
  return {
    name: 'publish',
    async start() {
      pass();
      timer = setInterval(() => { void running.then(pass); }, INTERVAL_MS);
      timer.unref();
      state = 'running';
    },
    async stop(graceMs) {
      clearInterval(timer);
      state = 'stopping';
      // A half-written version is never visible (publishVersion renames into place), so cutting is safe.
      await Promise.race([running, new Promise((r) => setTimeout(r, graceMs).unref())]);
      state = 'stopped';
    },
    health: () => ({ state, detail: { exportDir: dir, ...(last && { lastPass: new Date(last.at).toISOString(), versions: last.versions }) } }),
  };
}
