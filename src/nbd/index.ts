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
        onConnect: ({ ip, export: name }) => {
          void leaseOf(ctx, ip).then((lease) => ctx.events.record({
            stage: 'nbd.connect', ip, mac: lease?.mac ?? null, branchId: lease?.branchId ?? null, detail: { export: name },
          }));
        },
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

/**
 * NBD carries no MAC, but the boot timeline is per machine: find who holds this IP in our own
 * lease table. Inline rather than in src/model/ (another engineer's folder); once per connection.
 * Never fails: a missing lease (static IP, another DHCP server) just leaves the MAC empty.
 */
async function leaseOf(ctx: AppContext, ip: string): Promise<{ mac: string; branchId: number } | undefined> {
  try {
    const row = await ctx.db.selectFrom('leases')
      .innerJoin('subnets', 'subnets.id', 'leases.subnet_id')
      .select(['leases.mac as mac', 'subnets.branch_id as branchId'])
      .where('leases.ip', '=', ip)
      .where('leases.state', '=', 'bound')
      .orderBy('leases.updated_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row;
  } catch {
    return undefined;
  }
}
