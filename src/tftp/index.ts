// The TFTP service as the application sees it: built from the config, disabled unless
// tftp.enabled, generated files from the planner, MACs from the lease table.
import type { AppContext, Service, ServiceHealth } from '../service.ts';
import { TftpServer, type TftpServerOptions } from './server.ts';
import { macForLeasedIp } from '../model/lease-lookup.ts';
import { attachReader } from '../model/read-conn.ts';
import { UserError, errnoCode } from '../util/errors.ts';
import { warnIfDgram } from '../udp/socket.ts';

/** `tuning`: server options the config does not carry (tests and the benchmark). */
export function createTftpService(ctx: AppContext, tuning: Pick<TftpServerOptions, 'transferThreads'> = {}): Service {
  const cfg = ctx.config.tftp;
  if (!cfg.enabled) {
    return { name: 'tftp', async start() {}, async stop() {}, health: () => ({ state: 'disabled' }) };
  }
  const log = ctx.log.child({ svc: 'tftp' });
  const server = new TftpServer({
    address: cfg.address,
    port: cfg.port,
    roots: cfg.roots,
    maxBlksize: cfg.maxBlksize,
    maxTransfers: cfg.maxTransfers,
    maxTransfersPerClient: cfg.maxTransfersPerClient,
    generatedFile: (name, client) => ctx.planner.generatedFile(name, client),
    macForIp: (ip) => macForLeasedIp(ctx.db, ip),
    record: ({ mac, ip, detail }) => ctx.events.record({ stage: 'tftp.file', mac, ip, detail }),
    log,
    ...tuning,
  });
  let state: ServiceHealth['state'] = 'stopped';
  let listen: string[] = [];
  // Every transfer asks which MAC holds the client's address (model/lease-lookup.ts): on the read
  // connection's kept statements, whether or not serve's HTTP routes attached it too.
  let releaseReader: (() => void) | undefined;
  return {
    name: 'tftp',
    async start() {
      state = 'starting';
      const udp = warnIfDgram(log, 'tftp');
      releaseReader = attachReader(ctx.db, ctx.config.database);
      try {
        const a = await server.start();
        listen = [`${a.address}:${a.port}`];
        state = 'running';
        log.info({ listen, roots: cfg.roots, udp }, 'tftp listening');
      } catch (err) {
        state = 'failed';
        releaseReader?.();
        releaseReader = undefined;
        const code = errnoCode(err);
        // app.ts starts the line with "tftp: cannot start: "; EACCES keeps its errno, so the
        // line says what it says for dhcp, nbd and http.
        if (code === 'EADDRINUSE') throw new UserError(`${cfg.address}:${cfg.port} is in use (another TFTP server, e.g. tftpd-hpa or dnsmasq, running?)`);
        if (code === 'EADDRNOTAVAIL') throw new UserError(`tftp.address ${cfg.address} is not an address of this machine`);
        throw err;
      }
    },
    async stop(graceMs) {
      state = 'stopping';
      await server.stop(graceMs);
      releaseReader?.();
      releaseReader = undefined;
      state = 'stopped';
    },
    health: () => ({ state, listen, detail: { ...server.getStats() } }),
  };
}
