// /v1/users, /v1/tokens, /v1/audit: admin only, over every branch.
import { Type, type Static } from '@sinclair/typebox';
import {
  createTokenAudited, createUserAudited, deleteUserAudited, getUserView, listTokenViews, listUserViews, revokeTokenAudited, updateUserAudited, type UserView,
} from '../../model/account-admin.ts';
import { queryAudit } from '../../model/audit-query.ts';
import { encodeIdCursor } from '../../model/pagination.ts';
import { notFound } from '../../model/admin-errors.ts';
import { principal } from './auth.ts';
import { etagOf, ifMatch } from './etag.ts';
import { needGlobal } from './principal.ts';
import { idCursor } from './leases.ts';
import { Cursor, Id, Limit, Nullable, RoleS, ScopeS, errors } from './schemas.ts';
import type { ApiModule } from './types.ts';

const IdParams = Type.Object({ id: Id });
type IdParams = Static<typeof IdParams>;
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const UserBody = Type.Object({ username: Username, password: Password, role: RoleS, branchIds: Type.Optional(Type.Array(Id, { maxItems: 1000 })) }, { additionalProperties: false });
const UserPatch = Type.Object({ role: Type.Optional(RoleS), branchIds: Type.Optional(Type.Array(Id, { maxItems: 1000 })), disabled: Type.Optional(Type.Boolean()), password: Type.Optional(Password) }, { additionalProperties: false });
const TokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
  scopes: Type.Array(ScopeS, { minItems: 1, maxItems: 3, uniqueItems: true }),
  branchId: Type.Optional(Nullable(Id)),
}, { additionalProperties: false });
const AuditQuery = Type.Object({
  entity: Type.Optional(Type.String({ maxLength: 32 })), entityId: Type.Optional(Type.String({ maxLength: 128 })), actor: Type.Optional(Type.String({ maxLength: 128 })),
  cursor: Type.Optional(Cursor), limit: Type.Optional(Limit),
}, { additionalProperties: false });

export const accountRoutes: ApiModule = (app, ctx) => {
  const db = ctx.db;
  const findUser = async (id: number) => (await getUserView(db, id)) ?? (() => { throw notFound(`user ${id} does not exist`); })();

  app.get('/v1/users', { schema: { tags: ['users'], summary: 'Console users', response: errors(401, 403) } }, async (req) => {
    needGlobal(principal(req), 'admin');
    return { items: await listUserViews(db) };
  });
  app.post<{ Body: Static<typeof UserBody> }>('/v1/users', { schema: { tags: ['users'], summary: 'Create a console user', body: UserBody, response: errors(400, 401, 403, 409) } }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    const u = await createUserAudited(db, p.actor, { ...req.body, branchIds: req.body.branchIds ?? [] });
    return reply.code(201).header('etag', etagOf(u)).send(u);
  });
  app.get<{ Params: IdParams }>('/v1/users/:id', { schema: { tags: ['users'], summary: 'One user', params: IdParams, response: errors(400, 401, 403, 404) } }, async (req, reply) => {
    needGlobal(principal(req), 'admin');
    const u = await findUser(req.params.id);
    return reply.header('etag', etagOf(u)).send(u);
  });
  app.patch<{ Params: IdParams; Body: Static<typeof UserPatch> }>('/v1/users/:id', {
    schema: { tags: ['users'], summary: 'Change role, branches, disabled or password (If-Match required)', params: IdParams, body: UserPatch, response: errors(400, 401, 403, 404, 412, 428) },
  }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    await findUser(req.params.id);
    const u = await updateUserAudited(db, p.actor, req.params.id, req.body, ifMatch<UserView>(req));
    return reply.header('etag', etagOf(u)).send(u);
  });
  app.delete<{ Params: IdParams }>('/v1/users/:id', { schema: { tags: ['users'], summary: 'Delete a user (If-Match required)', params: IdParams, response: errors(400, 401, 403, 404, 412, 428) } }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    await findUser(req.params.id);
    await deleteUserAudited(db, p.actor, req.params.id, ifMatch<UserView>(req));
    return reply.code(204).send();
  });

  app.get('/v1/tokens', { schema: { tags: ['tokens'], summary: 'API tokens (never their secret)', response: errors(401, 403) } }, async (req) => {
    needGlobal(principal(req), 'admin');
    return { items: await listTokenViews(db) };
  });
  app.post<{ Body: Static<typeof TokenBody> }>('/v1/tokens', { schema: { tags: ['tokens'], summary: 'Create a token; the response is the only time its secret is shown', body: TokenBody, response: errors(400, 401, 403, 409) } }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    const r = await createTokenAudited(db, p.actor, { name: req.body.name, scopes: req.body.scopes, branchId: req.body.branchId ?? null });
    return reply.code(201).send({ ...r.view, token: r.token });
  });
  app.delete<{ Params: IdParams }>('/v1/tokens/:id', { schema: { tags: ['tokens'], summary: 'Revoke a token', params: IdParams, response: errors(400, 401, 403, 404, 409) } }, async (req) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    return revokeTokenAudited(db, p.actor, req.params.id);
  });

  app.get<{ Querystring: Static<typeof AuditQuery> }>('/v1/audit', { schema: { tags: ['audit'], summary: 'Audit log, newest first', querystring: AuditQuery, response: errors(400, 401, 403) } }, async (req) => {
    needGlobal(principal(req), 'admin');
    const q = req.query;
    const limit = q.limit ?? 50;
    const rows = await queryAudit(db, { entity: q.entity, entityId: q.entityId, actor: q.actor, beforeId: idCursor(q.cursor), limit: limit + 1 });
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? encodeIdCursor(items.at(-1)!.id) : null };
  });
};
