import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';
import { errnoCode, errorMessage } from '../../util/errors.ts';

/**
 * GET /healthz: 200 when every service that should run does and the database and the store can
 * be written; else 503 with `down`, one line per problem, for a monitor to show as is. A server
 * whose store folder was unmounted or whose database went read-only (disk remounted ro after an
 * I/O error) kept answering 200 while every import and every lease failed. Checks are a few
 * access(2) calls: a monitor may poll it every second.
 */
export async function healthRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    const services = opts.ctx.health();
    const down: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      if (s.state !== 'running' && s.state !== 'disabled') down.push(`${name}: ${s.state}`);
    }
    const { database, store } = opts.ctx.config;
    if (database !== ':memory:') {
      const problem = writableFile(database) ?? writableDir(path.dirname(database));
      if (problem) down.push(`database ${database}: ${problem}`);
    }
    const storeProblem = writableDir(store.path);
    if (storeProblem) down.push(`store ${store.path}: ${storeProblem}`);
    const ok = down.length === 0;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...(!ok && { down }), services });
  });
}

function writableFile(file: string): string | undefined {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    return describe(err);
  }
}

function writableDir(dir: string): string | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return 'is not a folder';
    // The folder too: SQLite writes its -wal and -shm files beside the database.
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return undefined;
  } catch (err) {
    return describe(err);
  }
}

function describe(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'ENOENT') return 'is missing';
  if (code === 'EROFS') return 'is on a read-only file system';
  if (code === 'EACCES' || code === 'EPERM') return 'is not writable';
  return errorMessage(err);
}
