// Runs branchboot's TFTP service alone, for tests and the benchmark that need it inside a
// network namespace (`ip netns exec NS node --import tsx runner.ts CONFIG_JSON`). Prints
// "ready" when listening, then one "event <json>" line per boot event; stops on SIGTERM.
//
// CONFIG_JSON: { address, port, roots: [], maxBlksize?, maxTransfers?, maxTransfersPerClient?,
//   transferThreads?, generated?: { name, content (base64), forMac? }, leases?: [{ ip, mac }], db: file }
import fs from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { createTftpService } from '../../../src/tftp/index.ts';
import type { BootPlanner } from '../../../src/boot/types.ts';

interface RunnerConfig {
  address: string;
  port: number;
  roots: string[];
  maxBlksize?: number;
  maxTransfers?: number;
  maxTransfersPerClient?: number;
  /** Worker threads for transfers (0: in the main thread); default: the server's. */
  transferThreads?: number;
  generated?: { name: string; content: string };
  leases?: { ip: string; mac: string }[];
  db: string;
}

const rc = JSON.parse(process.argv[2] ?? fs.readFileSync(0, 'utf8')) as RunnerConfig;
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: '/tmp', 'tftp.enabled': true, 'tftp.address': rc.address, 'tftp.port': rc.port, 'tftp.roots': rc.roots,
    ...(rc.maxBlksize !== undefined && { 'tftp.maxBlksize': rc.maxBlksize }),
    ...(rc.maxTransfers !== undefined && { 'tftp.maxTransfers': rc.maxTransfers }),
    ...(rc.maxTransfersPerClient !== undefined && { 'tftp.maxTransfersPerClient': rc.maxTransfersPerClient }),
  },
});
const handle = openDatabase(rc.db);
const log = pino({ level: process.env.TFTP_LOG ?? 'silent' }, pino.destination(2));
const events = new EventBus(handle.db, log);
if (rc.leases?.length) {
  const now = Date.now();
  const { id } = await handle.db.insertInto('branches').values({ name: 'test', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  const subnet = await handle.db.insertInto('subnets').values({ branch_id: id, cidr: '10.0.0.0/8', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  for (const l of rc.leases) {
    await handle.db.insertInto('leases').values({ subnet_id: subnet.id, ip: l.ip, mac: l.mac, state: 'bound', expires_at: now + 3_600_000, updated_at: now }).execute();
  }
}
const generated = rc.generated ? { name: rc.generated.name, data: Buffer.from(rc.generated.content, 'base64') } : undefined;
const planner: BootPlanner = {
  firstFile: async () => ({ bootfile: 'undionly.kpxe' }),
  plan: async () => ({ kind: 'error', firstFile: { bootfile: 'undionly.kpxe' }, reason: 'test', script: '#!ipxe\n' }),
  // Per-client content, so a test can tell that the MAC came from the lease table.
  generatedFile: async (name, client) => (generated && name === generated.name ? Buffer.concat([generated.data, Buffer.from(`# for ${client.mac ?? 'unknown'}\n`)]) : undefined),
};
events.onBoot((ev) => process.stdout.write(`event ${JSON.stringify(ev)}\n`));
const svc = createTftpService({ config, db: handle.db, log, events, planner }, rc.transferThreads !== undefined ? { transferThreads: rc.transferThreads } : {});
await svc.start();
process.stdout.write(`ready ${JSON.stringify(svc.health())}\n`);
const shutdown = async () => {
  await svc.stop(0);
  await events.flush();
  process.stdout.write(`stats ${JSON.stringify({ ...svc.health().detail, cpu: process.cpuUsage() })}\n`);
  await handle.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
