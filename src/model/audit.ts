// The audit log: who changed what, when, with the state before and after.
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';

export interface AuditInput {
  actor: string;               // user:NAME, token:NAME, cli
  action: string;              // create, update, delete, assign, register, apply …
  entity: string;              // branch, subnet, machine, image, image_version, user, token
  entityId?: string | number | null;
  before?: unknown;
  after?: unknown;
}

/** Writes one audit row; call it inside the transaction that makes the change. */
function row(e: AuditInput, at: number) {
  return {
    at, actor: e.actor, action: e.action, entity: e.entity,
    entity_id: e.entityId === undefined || e.entityId === null ? null : String(e.entityId),
    before: e.before === undefined ? null : JSON.stringify(e.before),
    after: e.after === undefined ? null : JSON.stringify(e.after),
  };
}

/** Many audit rows of one change (a bulk assignment), 100 per INSERT (7 bound values a row). */
export async function auditMany(db: Kysely<DB> | Transaction<DB>, es: AuditInput[], at = Date.now()): Promise<void> {
  for (let i = 0; i < es.length; i += 100) await db.insertInto('audit_log').values(es.slice(i, i + 100).map((e) => row(e, at))).execute();
}

export async function audit(db: Kysely<DB> | Transaction<DB>, e: AuditInput, at = Date.now()): Promise<void> {
  await db.insertInto('audit_log').values(row(e, at)).execute();
}
