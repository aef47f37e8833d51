// The NBD service: read-only exports of image versions over TCP (default port 10809), for the
// kernel's nbd-client (root=/dev/nbd0), dracut root=nbd:, qemu and libnbd tools.
import type { AppContext, Service, ServiceHealth } from '../service.ts';
import { openStore } from '../store/store.ts';
import type { NbdExports } from './exports.ts';
import { NbdServer } from './server.ts';
import { storeExports } from './store-exports.ts';

export type { NbdExports, NbdExportInfo, NbdExportReader } from './exports.ts';
export { NbdServer } from './server.ts';
export { storeExports } from './store-exports.ts';

/**
 * `exports` lets the application share one block store (and so one chunk cache) between HTTP
 * and NBD; without it the service opens its own store on ctx.config.
 */
export function createNbdService(ctx: AppContext, exports?: NbdExports): Service {
  const cfg = ctx.config.nbd;
  if (!cfg.enabled) {
    return { name: 'nbd', async start() {}, async stop() {}, health: () => ({ state: 'disabled' }) };
  }
  const log = ctx.log.child({ svc: 'nbd' });
  let state: ServiceHealth['state'] = 'stopped';
  let server: NbdServer | undefined;
  let listen: string | undefined;
  return {
    name: 'nbd',
    async start() {
      state = 'starting';
      const source = exports ?? storeExports(openStore(ctx.config, ctx.db, ctx.log));
      server = new NbdServer({
        exports: source,
        log,
        // The MAC is unknown at this layer (NBD carries none); the console joins on IP.
        onConnect: ({ ip, export: name }) => ctx.events.record({ stage: 'nbd.connect', ip, detail: { export: name } }),
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
      ...(server ? { detail: { connections: server.connections } } : {}),
    }),
  };
}
