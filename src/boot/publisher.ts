// Keeps boot.exportDir in step with the inventory for nfs/cifs roots: the system's NFS server or
// Samba serves that folder, so whatever a client may mount must already be there. Publishing is
// idempotent, so a periodic pass catches new imports and assignments without hooks in every
// place that changes them.
import type { AppContext, Service } from '../service.ts';
import { sharedStore } from '../store/store.ts';
import { disabledService, periodicService } from '../periodic-service.ts';
import { publishNeeded } from './publish.ts';

export function createPublisherService(ctx: AppContext, opts: { intervalMs?: number } = {}): Service {
  const dir = ctx.config.boot.exportDir;
  if (!dir) return disabledService('publish');
  const log = ctx.log.child({ svc: 'publish' });
  return periodicService({
    name: 'publish',
    log,
    firstPassMs: 0,
    intervalMs: opts.intervalMs ?? 60_000,
    detail: { exportDir: dir },
    failure: 'publish pass failed',
    // A version cut off by stop leaves only its temp file, which is removed: clients see the old
    // state or the whole file (publish.ts).
    pass: async (signal) => ({ versions: (await publishNeeded(ctx.db, sharedStore(ctx), dir, log, signal)).length }),
  });
}
