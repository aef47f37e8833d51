// The HTTP side of the appliance: one fastify instance for boot files, the block store,
// the REST API and the console. Each area is a plugin in routes/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppContext, Service, ServiceHealth } from '../service.ts';
import { healthRoutes } from './routes/health.ts';
import { bootRoutes } from './routes/boot.ts';
import { storeRoutes } from './routes/store.ts';
import { apiRoutes } from './routes/api.ts';
import { uiRoutes } from './routes/ui.ts';
import { metricsRoutes } from './routes/metrics.ts';
import type { PoolStats } from '../dhcp/pool-stats.ts';
import type { LoginLimiter } from './ui/login-limit.ts';

export interface HttpContext extends AppContext {
  /** Health of every service, for /healthz. */
  health(): Record<string, ServiceHealth>;
  /** Each DHCP subnet's pool use, for /metrics (absent: DHCP is not in this process). */
  dhcpPools?: ((now: number) => PoolStats[]) | undefined;
}

/**
 * fastify's trustProxy for http.trustedProxies. With a list, req.ip is the right-most
 * X-Forwarded-For address that is not a listed proxy (proxy-addr), and only a listed peer's
 * X-Forwarded-For, -Host and -Proto are read: a client that sends its own header directly, or
 * adds entries in front of what the cache appends, changes nothing. Empty: false, not [], so
 * the default keeps fastify's plain request (no X-Forwarded-* parsing on any request).
 */
export function trustProxyOption(trusted: readonly string[]): false | string[] {
  return trusted.length > 0 ? [...trusted] : false;
}

/** `limiter`: the console's login limiter with a test's clock (tests only). */
export async function buildHttpApp(ctx: HttpContext, opts: { limiter?: LoginLimiter } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log.child({ svc: 'http' }) as FastifyBaseLogger,
    // One log line per request would drown the boot events; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Boot clients (iPXE, casync) keep one connection for many requests.
    keepAliveTimeout: 65_000,
    bodyLimit: 10 * 1024 * 1024,
    trustProxy: trustProxyOption(ctx.config.http.trustedProxies),
  });
  await app.register(healthRoutes, { ctx });
  await app.register(bootRoutes, { ctx });
  await app.register(storeRoutes, { ctx });
  await app.register(apiRoutes, { ctx, prefix: '/api' });
  await app.register(uiRoutes, { ctx, ...(opts.limiter && { limiter: opts.limiter }) });
  await app.register(metricsRoutes, { ctx });
  return app;
}

export function createHttpService(ctx: HttpContext): Service {
  let app: FastifyInstance | undefined;
  let state: ServiceHealth['state'] = 'stopped';
  let listen: string[] = [];
  // Responses in progress, for stop() to end the event streams among them.
  const open = new Set<ServerResponse>();
  return {
    name: 'http',
    async start() {
      state = 'starting';
      app = await buildHttpApp(ctx);
      app.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
        open.add(res);
        res.once('close', () => open.delete(res));
      });
      try {
        await app.listen({ host: ctx.config.http.address, port: ctx.config.http.port });
      } catch (err) {
        state = 'failed';
        await app.close().catch(() => {});
        throw err;
      }
      const addr = app.server.address();
      listen = addr && typeof addr === 'object' ? [`${addr.address}:${addr.port}`] : [];
      state = 'running';
    },
    async stop(graceMs) {
      if (!app) return;
      state = 'stopping';
      const server = app.server;
      // An event stream (console timeline, import progress) never ends by itself: one open
      // console held every stop for the whole grace time. Ended now, the browser's EventSource
      // reconnects (retry: 3000) to the restarted server. Cut, not ended: an ended response
      // leaves a keep-alive connection that turns idle only after the one idle sweep below.
      for (const res of open) if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.destroy();
      // Idle keep-alive connections close at once; busy ones get graceMs, then are cut.
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      await app.close();
      clearTimeout(cut);
      state = 'stopped';
    },
    health: () => ({ state, listen }),
  };
}
