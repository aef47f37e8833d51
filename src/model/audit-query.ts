// The audit log, newest first, for the API and console.
import type { Db } from '../db/index.ts';

export interface AuditView {
  id: number;
  at: number;
  actor: string;
  action: string;
  entity: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditQuery {
  entity?: string | undefined;
  entityId?: string | undefined;
  actor?: string | undefined;
  beforeId?: number | undefined;
  limit?: number | undefined;
}

const parse = (s: string | null): unknown => {
  if (s === null) return null;
  try { return JSON.parse(s); } catch { return s; }
};

/** Each filter has its index in rowid order (migration 0007): a page reads its rows, not the log. */
export function auditPageQuery(db: Db, q: AuditQuery) {
  let sel = db.selectFrom('audit_log').selectAll();
  if (q.entity) sel = sel.where('entity', '=', q.entity);
  if (q.entityId) sel = sel.where('entity_id', '=', q.entityId);
  if (q.actor) sel = sel.where('actor', '=', q.actor);
  if (q.beforeId !== undefined) sel = sel.where('id', '<', q.beforeId);
  return sel.orderBy('id', 'desc').limit(Math.min(q.limit ?? 100, 1000));
}

export async function queryAudit(db: Db, q: AuditQuery): Promise<AuditView[]> {
  const rows = await auditPageQuery(db, q).execute();
  return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, entity: r.entity, entityId: r.entity_id, before: parse(r.before), after: parse(r.after) }));
}
