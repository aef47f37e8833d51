// The NBD service: read-only exports of image versions over TCP (default port 10809), for the
// kernel's nbd-client (root=/dev/nbd0), dracut root=nbd:, qemu and libnbd tools.
import type { AppContext, Service, ServiceHealth } from '../service.ts';
import { sharedStore } from '../store/store.ts';
import { createFetchRecorder } from '../boot/fetch-events.ts';
import type { NbdExports } from './exports.ts';
import { NbdServer } from './server.ts';
import { storeExports } from './store-exports.ts';

export type { NbdExports, NbdExportInfo, NbdExportReader } from './exports.ts';
export { NbdServer } from './server.ts';
export { storeExports } from './store-exports.ts';

/**
 * Exports come from the block store HTTP also serves (sharedStore: one chunk cache for both);
 * tests may pass their own.
 */
export function createNbdService(ctx: AppContext, exports?: NbdExports): Service {
  const cfg = ctx.config.nbd;
  if (!cfg.enabled) {
    return { name: 'nbd', async start() {}, async stop() {}, health: () => ({ state: 'disabled' }) };
  }
  const log = ctx.log.child({ svc: 'nbd' });
  const fetches = createFetchRecorder({ db: ctx.db, events: ctx.events, log });
  let state: ServiceHealth['state'] = 'stopped';
  let server: NbdServer | undefined;
  let listen: string | undefined;
  return {
    name: 'nbd',
    async start() {
      state = 'starting';
      const source = exports ?? storeExports(sharedStore(ctx), log);
      server = new NbdServer({
        exports: source,
        log,
        // The boot timeline's NBD step; it also uses up a machine's pending "once" boot.
        onConnect: ({ ip, export: name }) => { void fetches.nbdConnect({ ip, exportName: name }); },
      });
      try {
        const addr = await server.listen(cfg.port, cfg.address);
        listen = `${addr.address}:${addr.port}`;
        state = 'running';
        log.info({ listen }, 'nbd listening');
      } catch (err) {
        state = 'failed';
        throw err;
      }
    },
    async stop(graceMs) {
      if (!server) return;
      state = 'stopping';
      try { await server.close(graceMs); } catch (err) { log.warn({ err }, 'nbd stop'); }
      state = 'stopped';
    },
    health: () => ({
      state,
      ...(listen ? { listen: [listen] } : {}),
      ...(server ? { detail: { connections: server.connections, accepted: server.accepted, sentBytes: server.sent } } : {}),
    }),
  };
}
