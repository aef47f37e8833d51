// /v1/discovered: machines the protocols saw but nobody registered yet, and registering them
// (one or many) into a branch with a hostname pattern and an image.
import { Type, type Static } from '@sinclair/typebox';
import { listMachines } from '../../model/machine-admin.ts';
import { registerDiscovered } from '../../model/machine-register.ts';
import { principal } from './auth.ts';
import { need, needBranch } from './principal.ts';
import { Action, Cursor, Id, Limit, Mac, MachineView, Name, Nullable, errors, page } from './schemas.ts';
import type { ApiModule } from './types.ts';

const tags = ['discovered'];
const Query = Type.Object({ branch: Type.Optional(Id), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, { additionalProperties: false });
export const RegisterBody = Type.Object({
  macs: Type.Array(Mac, { minItems: 1, maxItems: 5000 }),
  branchId: Id,
  hostnamePattern: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'e.g. lab-{n:03}; {n} counts from start' })),
  start: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  image: Type.Optional(Nullable(Name)),
  version: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  action: Type.Optional(Nullable(Action)),
}, { additionalProperties: false });

export const discoveredRoutes: ApiModule = (app, ctx) => {
  app.get<{ Querystring: Static<typeof Query> }>('/v1/discovered', {
    schema: { tags, summary: 'Discovered (unregistered) machines, newest sighting order by MAC', querystring: Query, response: { 200: page(MachineView), ...errors(400, 401, 403) } },
  }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    if (req.query.branch !== undefined) needBranch(p, req.query.branch);
    return listMachines(ctx.db, p.branches, { state: 'discovered', branchId: req.query.branch, cursor: req.query.cursor, limit: req.query.limit });
  });

  app.post<{ Body: Static<typeof RegisterBody> }>('/v1/discovered/register', {
    schema: { tags, summary: 'Register discovered machines into a branch', body: RegisterBody, response: errors(400, 401, 403, 404, 409) },
  }, async (req) => {
    const p = principal(req);
    need(p, 'write');
    needBranch(p, req.body.branchId);
    return { items: await registerDiscovered(ctx.db, p.actor, p.branches, req.body) };
  });
};
