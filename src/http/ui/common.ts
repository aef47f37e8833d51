// What every console page shares: who is logged in, the CSRF token for its forms, the
// navigation, and how a failure becomes a page with the right status.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpContext } from '../server.ts';
import type { Principal } from '../api/principal.ts';
import { ApiError } from '../api/problem.ts';
import { AdminError } from '../../model/admin-errors.ts';
import type { UiTemplates } from './render.ts';
import { field } from './forms.ts';

export interface UiDeps { ctx: HttpContext; views: UiTemplates }

export class NeedLogin extends Error {}

export function user(req: FastifyRequest): Principal & { session: NonNullable<Principal['session']> } {
  const p = req.principal;
  if (!p?.session) throw new NeedLogin();
  return p as Principal & { session: NonNullable<Principal['session']> };
}

export function pageCtx(req: FastifyRequest, title: string, extra: object = {}): object {
  const p = req.principal;
  const s = p?.session;
  const q = req.query as Record<string, unknown> | undefined;
  return {
    title,
    user: s && { name: s.username, role: s.role },
    csrf: s?.csrf,
    isAdmin: p?.scopes.has('admin') && p.branches === null,
    canWrite: p?.scopes.has('write') ?? false,
    notice: s && typeof q?.notice === 'string' && typeof q.nt === 'string' && sameText(q.nt, noticeTag(s.csrf, q.notice)) ? q.notice : undefined,
    ...extra,
  };
}

export function send(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** Forms post their session's CSRF token; anything else is refused before the handler runs. */
export function checkCsrf(req: FastifyRequest): boolean {
  const want = req.principal?.session?.csrf;
  const got = field(req.body, '_csrf');
  return !!want && !!got && sameText(want, got);
}

function sameText(x: string, y: string): boolean {
  const a = Buffer.from(x), b = Buffer.from(y);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A notice travels in the redirect's URL (303 after a POST) with a tag keyed by the session's
 * CSRF secret: the page shows only notices this session's own POSTs produced, so a crafted
 * link cannot put its own words ("session expired, sign in at …") into the console.
 */
function noticeTag(csrf: string, notice: string): string {
  return createHmac('sha256', csrf).update(notice).digest('base64url').slice(0, 22);
}

const KIND_STATUS: Record<AdminError['kind'], number> = { invalid: 400, 'not-found': 404, conflict: 409, forbidden: 403, stale: 412 };

export function uiErrorHandler(views: UiTemplates) {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof NeedLogin) {
      const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.url)}` : '';
      return reply.code(303).header('location', `/login${next}`).send();
    }
    let status = 500;
    let message = 'Something went wrong; the server log has the details.';
    if (err instanceof AdminError) {
      status = KIND_STATUS[err.kind];
      message = err.kind === 'stale' ? 'Someone changed this while you were editing. Reload the page and apply your change again.' : err.message;
    } else if (err instanceof ApiError) {
      status = err.status;
      message = err.message;
    } else if ('validation' in err && err.validation) {
      status = 400;
      message = err.message;
    } else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      status = (err as FastifyError).statusCode!;
      message = err.message;
    } else {
      req.log.error({ err }, 'console request failed');
    }
    return send(reply, views.render('error', pageCtx(req, `Error ${status}`, { status, message, back: safeBack(req.headers.referer, req.headers.host) })), status);
  };
}

/** Only same-site paths as "back" links. */
function safeBack(ref: string | undefined, host: string | undefined): string | undefined {
  if (!ref || !host) return undefined;
  try {
    const u = new URL(ref);
    return u.host === host ? `${u.pathname}${u.search}` : undefined;
  } catch {
    return undefined;
  }
}

/** After a successful POST: back to a page (303 so a reload does not repost), with a notice. */
export function redirect(reply: FastifyReply, to: string, notice?: string): FastifyReply {
  const sep = to.includes('?') ? '&' : '?';
  const csrf = reply.request.principal?.session?.csrf;
  const text = notice?.slice(0, 300);
  const query = text && csrf ? `${sep}notice=${encodeURIComponent(text)}&nt=${noticeTag(csrf, text)}` : '';
  return reply.code(303).header('location', `${to}${query}`).send();
}
