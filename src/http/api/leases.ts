// /v1/leases: DHCP leases, newest first, within the caller's branches. Orphan leases (their
// subnet deleted, still held by their clients) come with subnet and branchId null, orphan true
// and machineBranchId; a branch-limited caller sees one only when the machine with its MAC is in
// its branches (the README, "Console and REST API").
import { Type, type Static } from '@sinclair/typebox';
import { queryLeases } from '../../model/leases-query.ts';
import { decodeIdCursor, encodeIdCursor } from '../../model/pagination.ts';
import { invalid } from '../../model/admin-errors.ts';
import { normalizeMac } from '../../util/net.ts';
import { principal } from './auth.ts';
import { need, needBranch } from './principal.ts';
import { Cursor, Id, Limit, Mac, StrEnum, errors } from './schemas.ts';
import type { ApiModule } from './types.ts';

const Query = Type.Object({
  branch: Type.Optional(Id), mac: Type.Optional(Mac),
  state: Type.Optional(StrEnum(['offered', 'bound', 'released', 'declined', 'expired'] as const)),
  orphan: Type.Optional(Type.Boolean({ description: 'true: only leases of deleted subnets that their clients still hold; false: none of them' })),
  cursor: Type.Optional(Cursor), limit: Type.Optional(Limit),
}, { additionalProperties: false });

export function idCursor(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const id = decodeIdCursor(raw);
  if (id === undefined) throw invalid('cursor', 'not a cursor of this list');
  return id;
}

export const leaseRoutes: ApiModule = (app, ctx) => {
  app.get<{ Querystring: Static<typeof Query> }>('/v1/leases', { schema: { tags: ['leases'], summary: 'DHCP leases, newest first', querystring: Query, response: errors(400, 401, 403) } }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    const q = req.query;
    if (q.branch !== undefined) needBranch(p, q.branch);
    const mac = q.mac === undefined ? undefined : normalizeMac(q.mac) ?? (() => { throw invalid('mac', 'not a MAC address'); })();
    const limit = q.limit ?? 50;
    const items = await queryLeases(ctx.db, p.branches, { branchId: q.branch, mac, state: q.state, orphan: q.orphan, beforeId: idCursor(q.cursor), limit: limit + 1 });
    const more = items.length > limit;
    const pageItems = items.slice(0, limit);
    return { items: pageItems, nextCursor: more ? encodeIdCursor(pageItems.at(-1)!.id) : null };
  });
};
