// The REST API under /api: /api/v1/… resources, /api/docs (OpenAPI). Authentication runs for
// every v1 route; errors are problem+json; schemas are validated by our own Ajv (see validator.ts).
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';
import { attachReader } from '../../model/read-conn.ts';
import { authHook } from '../api/auth.ts';
import { apiErrorHandler, sendProblem } from '../api/problem.ts';
import { validatorCompiler } from '../api/validator.ts';
import { registerJsonBody } from '../api/json-body.ts';
import { signalInventoryWrites } from '../inventory-signal.ts';
import { OpenApiCollector, docsPage } from '../api/openapi.ts';
import { branchRoutes } from '../api/branches.ts';
import { machineRoutes } from '../api/machines.ts';
import { discoveredRoutes } from '../api/discovered.ts';
import { imageRoutes } from '../api/images.ts';
import { leaseRoutes } from '../api/leases.ts';
import { eventRoutes } from '../api/events.ts';
import { accountRoutes } from '../api/accounts.ts';
import { METRICS_ROUTE } from './metrics.ts';

export async function apiRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  const { ctx } = opts;
  const openapi = new OpenApiCollector();
  // Served at the root (routes/metrics.ts, where Prometheus looks), authenticated as the API is.
  openapi.add(METRICS_ROUTE);
  const release = attachReader(ctx.db, ctx.config.database);
  app.addHook('onClose', async () => release());
  app.setValidatorCompiler(validatorCompiler);
  registerJsonBody(app);
  app.setErrorHandler(apiErrorHandler);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, `no route ${req.method} ${req.url.split('?')[0]}`));

  app.get('/docs/openapi.json', async () => openapi.document());
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'").send(docsPage(openapi.document())));

  await app.register(async (v1) => {
    v1.decorateRequest('principal', null);
    v1.addHook('onRoute', (r) => openapi.add(r));
    v1.addHook('onRequest', authHook(ctx.db));
    signalInventoryWrites(v1, ctx);
    v1.addHook('onSend', async (_req, reply, payload) => {
      // API answers depend on who asks: never cache them in shared caches.
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
    for (const mod of [branchRoutes, machineRoutes, discoveredRoutes, imageRoutes, leaseRoutes, eventRoutes, accountRoutes]) mod(v1, ctx);
  });
}
