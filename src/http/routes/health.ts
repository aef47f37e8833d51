import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';
import { writableDir, writableFile } from '../../util/writable.ts';

/**
 * GET /healthz: 200 when every service that should run does and the database and the store can
 * be written; else 503 with `down`, one line per problem, for a monitor to show as is. A server
 * whose store folder was unmounted or whose database went read-only (disk remounted ro after an
 * I/O error) kept answering 200 while every import and every lease failed. Checks are a few
 * access(2) calls off the event loop, each bounded in time (util/writable.ts): a monitor may poll
 * it every second, also while the store's mount hangs.
 */
export async function healthRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    const services = opts.ctx.health();
    const down: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      if (s.state !== 'running' && s.state !== 'disabled') down.push(`${name}: ${s.state}`);
    }
    const { database, store } = opts.ctx.config;
    // At once: a hung mount costs one timeout, not one per check.
    const onDisk = database !== ':memory:';
    const [dbFile, dbDir, storeProblem] = await Promise.all([
      onDisk ? writableFile(database) : undefined, onDisk ? writableDir(path.dirname(database)) : undefined, writableDir(store.path),
    ]);
    const problem = dbFile ?? dbDir;
    if (problem) down.push(`database ${database}: ${problem}`);
    if (storeProblem) down.push(`store ${store.path}: ${storeProblem}`);
    const ok = down.length === 0;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...(!ok && { down }), services });
  });
}
