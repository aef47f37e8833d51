import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';

/** GET /healthz: each service's state; 503 when one that should run does not. */
export async function healthRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    const services = opts.ctx.health();
    const ok = Object.values(services).every((s) => s.state === 'running' || s.state === 'disabled');
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', services });
  });
}
