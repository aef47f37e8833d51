// Builds the appliance from its config: database, planner, then the protocol services,
// started in order and stopped in reverse.
import type { Config } from './config.ts';
import { openDatabase, type DatabaseHandle } from './db/index.ts';
import { createLogger, type Logger } from './log.ts';
import { EventBus } from './events.ts';
import { createPlanner } from './boot/planner.ts';
import type { AppContext, Service, ServiceHealth } from './service.ts';
import { createHttpService } from './http/server.ts';
import { createDhcpService } from './dhcp/index.ts';
import { createTftpService } from './tftp/index.ts';
import { createNbdService } from './nbd/index.ts';
import { createPublisherService } from './boot/publisher.ts';
import { createEventRetentionService } from './event-retention.ts';
import { UserError, errnoCode, errorMessage } from './util/errors.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { makeDirsSync } from './util/make-dirs.ts';
import { abandonRunningImports, removeStaleUploads } from './shutdown-imports.ts';

export interface App {
  ctx: AppContext;
  services: Service[];
  health(): Record<string, ServiceHealth>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createApp(config: Config, log: Logger = createLogger(config)): App {
  // Before the database: a second serve must not migrate, or start anything, under the first.
  const lock = lockDataDir(config.dataDir);
  let database: DatabaseHandle;
  try {
    // Made at start, so /healthz can tell a store that went away from one never used.
    try { makeDirsSync(config.store.path); } catch (err) { throw new UserError(`store ${config.store.path}: ${errorMessage(err)}`); }
    database = openDatabase(config.database, { integrityCheck: true });
    removeStaleUploads(config.dataDir, log);
  } catch (err) {
    lock.release();
    throw err;
  }
  const db = database.db;
  const events = new EventBus(db, log, 100, database.sqlite);
  const planner = createPlanner({ config, db, log, events });
  const ctx: AppContext = { config, db, log, events, planner };
  const services: Service[] = [];
  const health = () => Object.fromEntries(services.map((s) => [s.name, s.health()]));
  const dhcp = createDhcpService(ctx);
  services.push(
    dhcp,
    createTftpService(ctx),
    createNbdService(ctx),
    createPublisherService(ctx),
    createEventRetentionService(ctx),
    createHttpService({ ...ctx, health, dhcpPools: (now) => dhcp.pools(now) }),
  );
  const started: Service[] = [];
  const stop = async () => {
    const graceMs = config.http.shutdownGraceSeconds * 1000;
    for (const s of started.reverse()) {
      try { await s.stop(graceMs); } catch (err) { log.error({ err, service: s.name }, 'stop failed'); }
    }
    started.length = 0;
    await abandonRunningImports({ db, config }, log, 'interrupted: branchboot serve stopped during the import; nothing was published, import again');
    await events.flush();
    await database.close();
    lock.release();
  };
  return {
    ctx, services, health, stop,
    async start() {
      for (const s of services) {
        try {
          await s.start();
          started.push(s);
        } catch (err) {
          await stop();
          throw new UserError(describeStartError(s.name, config, err));
        }
      }
    },
  };
}

function describeStartError(name: string, config: Config, err: unknown): string {
  const where: Record<string, string> = {
    http: `${config.http.address}:${config.http.port}`,
    dhcp: `${config.dhcp.address}:${config.dhcp.port}`,
    tftp: `${config.tftp.address}:${config.tftp.port}`,
    nbd: `${config.nbd.address}:${config.nbd.port}`,
  };
  const code = errnoCode(err);
  if (code === 'EADDRINUSE') return `${name}: ${where[name]} is already in use (another server running? set ${name}.port)`;
  if (code === 'EACCES') return `${name}: not allowed to listen on ${where[name]} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`;
  if (code === 'EADDRNOTAVAIL') return `${name}: ${where[name]}: no interface has that address`;
  return `${name}: cannot start: ${errorMessage(err)}`;
}
