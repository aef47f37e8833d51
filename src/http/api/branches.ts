// /v1/branches: the sites, with their subnets and servers. Reading needs read scope within the
// branch; changing one needs write within it; creating or deleting one needs admin over all.
import { Type, type Static } from '@sinclair/typebox';
import { BranchSpec } from '../../model/inventory/schema.ts';
import { branchToSpec, deleteBranch, getBranchView, listBranches, normalizeBranchSpec, saveBranch, strip, type BranchView } from '../../model/branches.ts';
import { notFound } from '../../model/admin-errors.ts';
import { principal } from './auth.ts';
import { ApiError } from './problem.ts';
import { etagOf, ifMatch } from './etag.ts';
import { need, needBranch, needGlobal } from './principal.ts';
import { errors, Id } from './schemas.ts';
import type { ApiModule } from './types.ts';

const Params = Type.Object({ id: Id });
type Params = Static<typeof Params>;
const PatchBody = Type.Partial(BranchSpec, { additionalProperties: false });
const tags = ['branches'];

const cidrsOf = (b: { subnets: { cidr: string }[] }) => b.subnets.map((x) => x.cidr).sort().join(' ');

export const branchRoutes: ApiModule = (app, ctx) => {
  const db = ctx.db;
  const tagOf = (b: BranchView) => etagOf(strip(b));

  app.get('/v1/branches', { schema: { tags, summary: 'List branches with machine counts', response: errors(401, 403) } }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    return { items: await listBranches(db, p.branches) };
  });

  app.post<{ Body: Static<typeof BranchSpec> }>('/v1/branches', { schema: { tags, summary: 'Create a branch (inventory file shape)', body: BranchSpec, response: errors(400, 401, 403, 409) } }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    const b = await saveBranch(db, p.actor, null, normalizeBranchSpec(req.body));
    return reply.code(201).header('etag', tagOf(b)).header('location', `/api/v1/branches/${b.id}`).send(b);
  });

  app.get<{ Params: Params }>('/v1/branches/:id', { schema: { tags, summary: 'One branch', params: Params, response: errors(401, 403, 404) } }, async (req, reply) => {
    const p = principal(req);
    need(p, 'read');
    const b = await getBranchView(db, req.params.id);
    if (!b) throw notFound(`branch ${req.params.id} does not exist`);
    needBranch(p, b.id);
    return reply.header('etag', tagOf(b)).send(b);
  });

  app.patch<{ Params: Params; Body: Static<typeof PatchBody> }>('/v1/branches/:id', {
    schema: { tags, summary: 'Change a branch (If-Match required; subnets, when given, replace the list)', params: Params, body: PatchBody, response: errors(400, 401, 403, 404, 409, 412, 428) },
  }, async (req, reply) => {
    const p = principal(req);
    need(p, 'write');
    needBranch(p, req.params.id);
    const check = ifMatch<BranchView>(req, strip);
    const cur = await getBranchView(db, req.params.id);
    if (!cur) throw notFound(`branch ${req.params.id} does not exist`);
    const merged = normalizeBranchSpec({ ...branchToSpec(cur), ...req.body });
    // Which networks the appliance answers DHCP on is the whole appliance's decision: a school's
    // admin adding a subnet (a VLAN of another school not yet in the inventory, a staff LAN)
    // made the server answer there, with boot servers that admin chose.
    if (p.branches !== null && cidrsOf(merged) !== cidrsOf(normalizeBranchSpec(branchToSpec(cur)))) {
      throw new ApiError(403, 'adding, removing or resizing subnets decides which networks are served; a branch-limited caller may change their settings only', 'subnets');
    }
    const b = await saveBranch(db, p.actor, cur.id, merged, check);
    return reply.header('etag', tagOf(b)).send(b);
  });

  app.delete<{ Params: Params }>('/v1/branches/:id', { schema: { tags, summary: 'Delete a branch without registered machines (If-Match required)', params: Params, response: errors(401, 403, 404, 409, 412, 428) } }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    const check = ifMatch<BranchView>(req, strip);
    await deleteBranch(db, p.actor, req.params.id, check);
    return reply.code(204).send();
  });
};
