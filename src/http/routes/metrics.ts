// GET /metrics: Prometheus text format for an operator's monitoring. Authenticated like the REST
// API (a Bearer token, or the console's session for a look in the browser), never anonymous:
// pool use and branch names describe the network.
//
// Per-subnet series (pools, leases) are limited to the caller's branches, as /api/v1/leases is.
// Appliance-wide series (services up, packet and transfer counters, process) go to every caller
// that may read: they describe the one server all branches share, name no branch, machine or
// address, and a branch's admin needs them to tell "our pool is full" from "DHCP is down".
import fs from 'node:fs';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { HttpContext } from '../server.ts';
import { authHook, principal } from '../api/auth.ts';
import { need } from '../api/principal.ts';
import { apiErrorHandler } from '../api/problem.ts';
import { errors } from '../api/schemas.ts';
import { branchNames, importsRunning } from '../../model/metrics.ts';
import { sharedStore } from '../../store/store.ts';
import { httpStoreStats } from './store.ts';
import { metricFamilies } from '../metrics/families.ts';
import { CONTENT_TYPE, encodeFamilies } from '../metrics/text.ts';

/** For the OpenAPI document (the route lives outside /api, where Prometheus looks by default). */
export const METRICS_ROUTE: Pick<RouteOptions, 'method' | 'url' | 'schema'> & { url: string } = {
  method: 'GET', url: '/metrics',
  schema: { tags: ['metrics'], summary: 'Prometheus metrics (text format 0.0.4): services, DHCP pools of the caller\'s branches, packet and transfer counters, process', response: errors(401, 403) },
};

/** package.json is three folders up from src/http/routes and from dist/http/routes alike. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function metricsRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  const { ctx } = opts;
  const version = packageVersion();
  const startTimeSeconds = Math.round((Date.now() - process.uptime() * 1000)) / 1000;
  app.decorateRequest('principal', null);
  app.setErrorHandler(apiErrorHandler);
  app.addHook('onRequest', authHook(ctx.db));
  app.get(METRICS_ROUTE.url, async (req, reply) => {
    const p = principal(req);
    need(p, 'read');
    const now = Date.now();
    const [names, importing] = await Promise.all([branchNames(ctx.db, p.branches), importsRunning(ctx.db)]);
    const cpu = process.cpuUsage();
    const chunks = sharedStore(ctx).chunks;
    const body = encodeFamilies(metricFamilies({
      scope: p.branches,
      services: ctx.health(),
      pools: ctx.dhcpPools?.(now) ?? [],
      branchNames: names,
      chunkCache: { hits: chunks.counts.hits, misses: chunks.counts.misses, bytes: chunks.cache.bytes },
      httpStore: httpStoreStats(ctx),
      bootEventsWritten: ctx.events.written,
      importsRunning: importing,
      process: { residentBytes: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6, startTimeSeconds, version, node: process.version },
    }));
    // What a caller sees depends on its token: no shared cache may keep it.
    return reply.type(CONTENT_TYPE).header('cache-control', 'no-store').send(body);
  });
}
