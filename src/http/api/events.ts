// /v1/events: boot events by MAC / branch / time, newest first, and the same live as
// server-sent events (each event as it is recorded, before it reaches the database).
import { Type, type Static } from '@sinclair/typebox';
import { queryBootEvents } from '../../model/events.ts';
import { encodeIdCursor } from '../../model/pagination.ts';
import { inScope } from '../../model/scope.ts';
import { invalid } from '../../model/admin-errors.ts';
import { normalizeMac } from '../../util/net.ts';
import { principal } from './auth.ts';
import { need, needBranch } from './principal.ts';
import { Cursor, Id, Limit, Mac, errors } from './schemas.ts';
import { idCursor } from './leases.ts';
import { openSse } from './sse.ts';
import type { ApiModule } from './types.ts';

const tags = ['events'];
const Time = Type.Integer({ minimum: 0, description: 'milliseconds since the epoch' });
const Query = Type.Object({
  mac: Type.Optional(Mac), branch: Type.Optional(Id), since: Type.Optional(Time), until: Type.Optional(Time),
  cursor: Type.Optional(Cursor), limit: Type.Optional(Limit),
}, { additionalProperties: false });
const StreamQuery = Type.Object({ mac: Type.Optional(Mac), branch: Type.Optional(Id) }, { additionalProperties: false });

const macParam = (raw: string | undefined) => raw === undefined ? undefined : normalizeMac(raw) ?? (() => { throw invalid('mac', 'not a MAC address'); })();

const parseDetail = (s: string): unknown => { try { return JSON.parse(s); } catch { return {}; } };

export const eventRoutes: ApiModule = (app, ctx) => {
  app.get<{ Querystring: Static<typeof Query> }>('/v1/events', { schema: { tags, summary: 'Boot events, newest first', querystring: Query, response: errors(400, 401, 403) } }, async (req) => {
    const p = principal(req);
    need(p, 'read');
    const q = req.query;
    if (q.branch !== undefined) needBranch(p, q.branch);
    const limit = q.limit ?? 50;
    const branchIds = q.branch !== undefined ? [q.branch] : p.branches ?? undefined;
    const rows = await queryBootEvents(ctx.db, { mac: macParam(q.mac), branchIds, since: q.since, until: q.until, beforeId: idCursor(q.cursor), limit: limit + 1 });
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => ({ id: r.id, at: r.at, mac: r.mac, ip: r.ip, branchId: r.branch_id, stage: r.stage, detail: parseDetail(r.detail) }));
    return { items, nextCursor: more ? encodeIdCursor(items.at(-1)!.id) : null };
  });

  app.get<{ Querystring: Static<typeof StreamQuery> }>('/v1/events/stream', {
    schema: { tags, summary: 'Live boot events as server-sent events (event: boot)', querystring: StreamQuery, response: errors(400, 401, 403) },
  }, async (req, reply) => {
    const p = principal(req);
    need(p, 'read');
    if (req.query.branch !== undefined) needBranch(p, req.query.branch);
    const mac = macParam(req.query.mac);
    const branch = req.query.branch;
    const sse = openSse(req, reply);
    sse.onClose(ctx.events.onBoot((ev) => {
      const bid = ev.branchId ?? null;
      if (!inScope(p.branches, bid)) return;
      if (mac !== undefined && ev.mac !== mac) return;
      if (branch !== undefined && bid !== branch) return;
      sse.send('boot', { at: ev.at, mac: ev.mac ?? null, ip: ev.ip ?? null, branchId: bid, stage: ev.stage, detail: ev.detail });
    }));
  });
};
