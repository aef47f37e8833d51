// The lab admin console: server-rendered pages (templates/ui), forms that work without
// JavaScript, small live enhancements (web/app.js over SSE). Every page needs a login; every
// form carries the session's CSRF token; responses forbid framing and foreign scripts.
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';
import { attachReader } from '../../model/read-conn.ts';
import { loadUiTemplates, type UiTemplates } from '../ui/render.ts';
import { registerFormParser } from '../ui/forms.ts';
import { checkCsrf, pageCtx, send, uiErrorHandler, type UiDeps } from '../ui/common.ts';
import { sessionHook, sessionRoutes } from '../ui/session.ts';
import { staticRoutes } from '../ui/static.ts';
import { dashboardRoutes } from '../ui/dashboard.ts';
import { branchRoutes } from '../ui/branch.ts';
import { machineRoutes } from '../ui/machine.ts';
import { discoveredRoutes } from '../ui/discovered.ts';
import { imageRoutes } from '../ui/images.ts';
import { accountRoutes } from '../ui/accounts.ts';
import { auditRoutes } from '../ui/audit.ts';
import type { LoginLimiter } from '../ui/login-limit.ts';
import { signalInventoryWrites } from '../inventory-signal.ts';

// Inline scripts and styles are refused, so an injected <script> in any field could not run
// even if escaping failed somewhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export async function uiRoutes(app: FastifyInstance, opts: { ctx: HttpContext; views?: UiTemplates; limiter?: LoginLimiter }): Promise<void> {
  const deps: UiDeps = { ctx: opts.ctx, views: opts.views ?? loadUiTemplates() };
  const release = attachReader(opts.ctx.db, opts.ctx.config.database);
  app.addHook('onClose', async () => release());
  await app.register(async (ui) => {
    staticRoutes(ui);
    registerFormParser(ui);
    ui.decorateRequest('principal', null);
    signalInventoryWrites(ui, opts.ctx);
    ui.addHook('onRequest', async (req) => {
      if (!req.url.startsWith('/static/')) await sessionHook(deps)(req);
    });
    ui.addHook('onSend', async (_req, reply, payload) => {
      reply.header('content-security-policy', CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
    ui.addHook('preHandler', async (req, reply) => {
      if (req.method !== 'POST' || req.url === '/login' || req.url.startsWith('/login?')) return;
      if (!req.principal?.session) return reply.code(303).header('location', '/login').send();
      if (!checkCsrf(req)) {
        return send(reply, deps.views.render('error', pageCtx(req, 'Error 403', { status: 403, message: 'The form was missing its security token or it did not match your session. Reload the page and try again.' })), 403);
      }
    });
    ui.setErrorHandler(uiErrorHandler(deps.views));
    // A mistyped console address is a page with the navigation, not fastify's JSON; clients
    // that do not ask for HTML (iPXE, casync, curl) keep the JSON they got before.
    ui.setNotFoundHandler(async (req, reply) => {
      if (!/\btext\/html\b/.test(req.headers.accept ?? '')) {
        return reply.code(404).send({ message: `Route ${req.method}:${req.url} not found`, error: 'Not Found', statusCode: 404 });
      }
      return send(reply, deps.views.render('error', pageCtx(req, 'Error 404', { status: 404, message: 'There is no such page.' })), 404);
    });
    sessionRoutes(ui, deps, opts.limiter);
    for (const mod of [dashboardRoutes, branchRoutes, machineRoutes, discoveredRoutes, imageRoutes, accountRoutes, auditRoutes]) mod(ui, deps);
  });
}
