// Console login and logout. The login form is guarded by a double-submit cookie (there is no
// session yet to hold a CSRF token); a successful login always creates a brand-new session,
// so a session id planted before login is worthless (no fixation). Cookies are HttpOnly,
// SameSite=Strict, and Secure whenever the console is reached over https.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticateUser } from '../../model/users.ts';
import { createSession, deleteSession, getSession, SESSION_TTL_MS } from '../../model/sessions.ts';
import { parseCookies, PRELOGIN_COOKIE, serializeCookie, SESSION_COOKIE } from '../api/cookies.ts';
import { userPrincipal } from '../api/principal.ts';
import { LoginLimiter } from './login-limit.ts';
import { field } from './forms.ts';
import { pageCtx, send, type UiDeps } from './common.ts';

/** req.protocol is X-Forwarded-Proto only from a peer in http.trustedProxies (a TLS-terminating nginx). */
export function isSecure(req: FastifyRequest, publicUrl: string | undefined): boolean {
  return req.protocol === 'https' || (publicUrl ?? '').startsWith('https:');
}

export function sessionHook(deps: UiDeps) {
  return async (req: FastifyRequest): Promise<void> => {
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    const s = cookie ? await getSession(deps.ctx.db, cookie) : undefined;
    req.principal = s ? userPrincipal(s) : null;
  };
}

/**
 * Only local paths may be a post-login destination (no open redirect). Browsers drop tabs and
 * newlines from a Location (WHATWG URL parser), so "/\t/evil.example" would become
 * "//evil.example", another host: control characters and spaces are refused, as is "\\".
 */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[^\\\x00-\x20\x7f]*$/.test(next) && !next.startsWith('/login') ? next : '/';
}

export function sessionRoutes(app: FastifyInstance, deps: UiDeps, limiter = new LoginLimiter()): void {
  const { ctx, views } = deps;
  const secure = (req: FastifyRequest) => isSecure(req, ctx.config.http.publicUrl);

  const loginPage = (req: FastifyRequest, reply: FastifyReply, status: number, error?: string, username?: string) => {
    let pre = parseCookies(req.headers.cookie).get(PRELOGIN_COOKIE);
    if (!pre || !/^[A-Za-z0-9_-]{32,64}$/.test(pre)) {
      pre = randomBytes(24).toString('base64url');
      reply.header('set-cookie', serializeCookie(PRELOGIN_COOKIE, pre, { secure: secure(req), maxAgeS: 3600 }));
    }
    const next = safeNext(typeof (req.query as Record<string, unknown>)?.next === 'string' ? (req.query as Record<string, string>).next : field(req.body, 'next'));
    return send(reply, views.render('login', { ...pageCtx(req, 'Sign in'), user: undefined, loginCsrf: pre, error, username, next }), status);
  };

  app.get('/login', async (req, reply) => loginPage(req, reply, 200));

  app.post('/login', async (req, reply) => {
    const username = (field(req.body, 'username') ?? '').slice(0, 64);
    const password = field(req.body, 'password') ?? '';
    const pre = parseCookies(req.headers.cookie).get(PRELOGIN_COOKIE) ?? '';
    const sent = field(req.body, '_csrf') ?? '';
    if (!pre || pre.length !== sent.length || !timingSafeEqual(Buffer.from(pre), Buffer.from(sent))) {
      return loginPage(req, reply, 403, 'The form expired or did not come from this site. Please try again.', username);
    }
    // req.ip is the client behind a proxy listed in http.trustedProxies: without that, a whole
    // branch behind its cache shared one address, and one guesser locked every admin there out.
    const wait = limiter.retryAfter(req.ip, username);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      req.log.warn({ user: username, ip: req.ip, retryAfterS: Math.ceil(wait / 1000) }, 'console sign-in refused: too many failures');
      return loginPage(req, reply, 429, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} seconds.`, username);
    }
    const user = username && password ? await authenticateUser(ctx.db, username, password) : undefined;
    if (!user) {
      limiter.failed(req.ip, username);
      // One warn line per failure, with who and from where (never the password): what fail2ban
      // or an admin reading the log needs to see someone guessing.
      req.log.warn({ user: username, ip: req.ip }, 'console sign-in failed');
      return loginPage(req, reply, 401, 'Wrong username or password.', username);
    }
    limiter.succeeded(req.ip, username);
    // Whatever session cookie came with the request is dropped: a fresh id for every login.
    const old = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (old) await deleteSession(ctx.db, old);
    const s = await createSession(ctx.db, user.id, req.ip);
    reply.header('set-cookie', [
      serializeCookie(SESSION_COOKIE, s.cookie, { secure: secure(req), maxAgeS: Math.floor(SESSION_TTL_MS / 1000) }),
      serializeCookie(PRELOGIN_COOKIE, '', { secure: secure(req), maxAgeS: 0 }),
    ]);
    return reply.code(303).header('location', safeNext(field(req.body, 'next'))).send();
  });

  app.post('/logout', async (req, reply) => {
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (cookie) await deleteSession(ctx.db, cookie);
    reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { secure: secure(req), maxAgeS: 0 }));
    return reply.code(303).header('location', '/login').send();
  });
}
