// Resolves the caller of an API request. `Authorization: Bearer` tokens for scripts; the
// console's session cookie too, but only for safe methods (GET/HEAD: its pages' live streams
// and previews), so a cross-site form can never make a change through the API.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.ts';
import { verifyToken } from '../../model/tokens.ts';
import { getSession } from '../../model/sessions.ts';
import { parseCookies, SESSION_COOKIE } from './cookies.ts';
import { ApiError } from './problem.ts';
import { tokenPrincipal, userPrincipal, type Principal } from './principal.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const UNAUTHORIZED = { 'www-authenticate': 'Bearer realm="branchboot"' };

export async function resolvePrincipal(db: Db, req: FastifyRequest): Promise<Principal | null> {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    if (!m) throw new ApiError(401, 'Authorization must be "Bearer <token>"', 'Authorization', UNAUTHORIZED);
    const t = await verifyToken(db, m[1]!);
    if (!t) throw new ApiError(401, 'the token is unknown or revoked', 'Authorization', { 'www-authenticate': 'Bearer realm="branchboot", error="invalid_token"' });
    return tokenPrincipal(t);
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (cookie) {
      const s = await getSession(db, cookie);
      if (s) return userPrincipal(s);
    }
  }
  return null;
}

export function authHook(db: Db) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    req.principal = await resolvePrincipal(db, req);
  };
}

/** The caller, or 401. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError(401, 'send Authorization: Bearer <token>', 'Authorization', UNAUTHORIZED);
  return req.principal;
}
