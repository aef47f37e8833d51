// GET /admin/users: console users and API tokens (admin only). A new token's secret is shown
// on the page that creates it, once.
import type { FastifyInstance } from 'fastify';
import { ROLES, type Role } from '../../db/schema.ts';
import { SCOPES, type Scope } from '../../model/tokens.ts';
import { createTokenAudited, createUserAudited, getUserView, listTokenViews, listUserViews, revokeTokenAudited, updateUserAudited, USERNAME_RE } from '../../model/account-admin.ts';
import { listBranches } from '../../model/branches.ts';
import { invalid, notFound } from '../../model/admin-errors.ts';
import { needGlobal } from '../api/principal.ts';
import { field, fields } from './forms.ts';
import { pageCtx, redirect, send, user, type UiDeps } from './common.ts';

export function accountRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  const page = async (req: Parameters<typeof user>[0], extra: object = {}) => {
    const [users, tokens, branches] = await Promise.all([listUserViews(ctx.db), listTokenViews(ctx.db), listBranches(ctx.db, null)]);
    const names = new Map(branches.map((b) => [b.id, b.name]));
    return views.render('accounts', pageCtx(req, 'Users and tokens', {
      users: users.map((u) => ({ ...u, branches: u.branchIds.map((id) => names.get(id) ?? String(id)).join(', ') })),
      tokens: tokens.map((t) => ({ ...t, branch: t.branchId === null ? 'all' : names.get(t.branchId) ?? String(t.branchId), scopes: t.scopes.join(', ') })),
      branches, roles: ROLES, scopes: SCOPES, ...extra,
    }));
  };

  app.get('/admin/users', async (req, reply) => {
    needGlobal(user(req), 'admin');
    return send(reply, await page(req));
  });

  app.post('/admin/users', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'admin');
    const username = (field(req.body, 'username') ?? '').trim();
    if (!USERNAME_RE.test(username)) throw invalid('username', 'A username has letters, digits and . _ @ -');
    const role = field(req.body, 'role') as Role;
    if (!ROLES.includes(role)) throw invalid('role', 'Choose a role.');
    const branchIds = fields(req.body, 'branchIds').map(Number).filter((n) => Number.isInteger(n) && n > 0);
    await createUserAudited(ctx.db, p.actor, { username, password: field(req.body, 'password') ?? '', role, branchIds });
    return redirect(reply, '/admin/users', `User ${username} created.`);
  });

  app.post<{ Params: { id: string } }>('/admin/users/:id/disabled', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'admin');
    const u = await getUserView(ctx.db, Number(req.params.id));
    if (!u) throw notFound('no such user');
    const disabled = field(req.body, 'disabled') === '1';
    if (u.id === p.session.userId && disabled) throw invalid('disabled', 'You cannot disable your own account.');
    await updateUserAudited(ctx.db, p.actor, u.id, { disabled });
    return redirect(reply, '/admin/users', `User ${u.username} ${disabled ? 'disabled' : 'enabled'}.`);
  });

  app.post('/admin/tokens', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'admin');
    const name = (field(req.body, 'name') ?? '').trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw invalid('name', 'A token name has letters, digits and . _ -');
    const scopes = fields(req.body, 'scopes').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
    const b = field(req.body, 'branchId') ?? '';
    const r = await createTokenAudited(ctx.db, p.actor, { name, scopes, branchId: b === '' ? null : Number(b) });
    // Not a redirect: the secret must not travel in a URL or be shown twice.
    reply.header('cache-control', 'no-store');
    return send(reply, await page(req, { newToken: { name, secret: r.token } }), 201);
  });

  app.post<{ Params: { id: string } }>('/admin/tokens/:id/revoke', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'admin');
    const t = await revokeTokenAudited(ctx.db, p.actor, Number(req.params.id));
    return redirect(reply, '/admin/users', `Token ${t.name} revoked.`);
  });
}
