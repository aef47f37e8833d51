// GET /audit: the audit log, newest first, filterable by entity and actor (admin only).
import type { FastifyInstance } from 'fastify';
import { queryAudit } from '../../model/audit-query.ts';
import { decodeIdCursor, encodeIdCursor } from '../../model/pagination.ts';
import { needGlobal } from '../api/principal.ts';
import { pageCtx, send, user, type UiDeps } from './common.ts';

const PAGE = 100;

export function auditRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/audit', async (req, reply) => {
    needGlobal(user(req), 'admin');
    const q = req.query;
    const entity = (q.entity ?? '').slice(0, 32) || undefined;
    const actor = (q.actor ?? '').slice(0, 128) || undefined;
    const rows = await queryAudit(ctx.db, { entity, actor, beforeId: q.cursor ? decodeIdCursor(q.cursor) : undefined, limit: PAGE + 1 });
    const items = rows.slice(0, PAGE).map((r) => ({ ...r, beforeText: r.before === null ? '' : JSON.stringify(r.before, null, 1), afterText: r.after === null ? '' : JSON.stringify(r.after, null, 1) }));
    const keep = new URLSearchParams();
    if (entity) keep.set('entity', entity);
    if (actor) keep.set('actor', actor);
    const next = rows.length > PAGE ? `?${new URLSearchParams([...keep, ['cursor', encodeIdCursor(items.at(-1)!.id)]])}` : undefined;
    return send(reply, views.render('audit', pageCtx(req, 'Audit log', { items, next, filter: { entity: entity ?? '', actor: actor ?? '' } })));
  });
}
