// Starts only the DHCP service from a config file, for tests that run the server inside a
// network namespace: `ip netns exec NS node --import tsx test/integration/dhcp/runner.ts CONFIG`.
// Prints one JSON line {"ready":true,…} when listening; SIGTERM stops it cleanly.
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import { createDhcpService } from '../../../src/dhcp/index.ts';
import { tierUpSooner } from '../../../src/util/tier-up.ts';

// As serve does (src/cli/serve.ts): the benchmark measures the server lab admins run.
tierUpSooner();
const config = loadConfig({ file: process.argv[2], env: {} });
const log = pino({ level: config.log.level }, pino.destination(2));
const database = openDatabase(config.database);
// Benchmark A/B of a schema change (e.g. an index a migration dropped, put back).
if (process.env.DHCP_BENCH_SQL) database.sqlite.exec(process.env.DHCP_BENCH_SQL);
const events = new EventBus(database.db, log, 100, database.sqlite);
const planner = createPlanner({ config, db: database.db, log });
const ctx = { config, db: database.db, log, events, planner };
const perMac = Number(process.env.DHCP_PER_MAC ?? 0);
const svc = createDhcpService(ctx, {
  // Tests change the inventory under a running server and wait for it: 1 s, not serve's 5 s.
  // The benchmark passes serve's own default (bench/dhcp/run.ts).
  scopeTtlMs: Number(process.env.DHCP_SCOPE_TTL_MS ?? 1000),
  ...(process.env.DHCP_WRITER_THREAD === '0' && { writerThread: false }),
  // Benchmark variants: the lease writer's synchronous mode, and no boot events at all (to show their cost).
  ...(process.env.DHCP_LEASE_SYNC === 'NORMAL' && { leaseSynchronous: 'NORMAL' as const }),
  ...(process.env.DHCP_LEASE_SYNC === 'FULL' && { leaseSynchronous: 'FULL' as const }),
  ...(process.env.DHCP_NO_EVENTS === '1' && { bootEvents: false }),
  ...(process.env.DHCP_WRITER && { writer: process.env.DHCP_WRITER as 'worker' }),
  ...(perMac > 0 && { limits: { perMacPerSecond: perMac, perMacBurst: perMac * 2, perRelayPerSecond: 1e6, perRelayBurst: 1e6 } }),
});
await svc.start();
process.stdout.write(`${JSON.stringify({ ready: true, ...svc.ports() })}\n`);
// Tests ask for counters on SIGUSR2 (stderr), e.g. to see how many commits a load run took.
process.on('SIGUSR2', () => process.stderr.write(`${JSON.stringify({ health: svc.health() })}\n`));
process.on('SIGTERM', () => {
  void svc.stop(1000).then(() => events.flush()).then(() => database.close()).then(() => process.exit(0));
});
