// The store routes alone in their own process, for the chunk-serving benchmark:
//   node --import tsx bench/store/serve.ts DATA_DIR PORT
import Fastify from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/index.ts';
import { storeRoutes } from '../../src/http/routes/store.ts';
import type { HttpContext } from '../../src/http/server.ts';

const [dataDir, port] = process.argv.slice(2);
const config = loadConfig({ env: {}, overrides: { dataDir } });
const handle = openDatabase(config.database);
const app = Fastify({ keepAliveTimeout: 65_000 });
const ctx = { config, db: handle.db, log: pino({ level: 'warn' }), health: () => ({}) } as unknown as HttpContext;
await app.register(storeRoutes, { ctx });
await app.listen({ host: '127.0.0.1', port: Number(port) });
process.stdout.write('ready\n');
process.on('SIGTERM', () => { void app.close().then(() => handle.close()).then(() => process.exit(0)); });
