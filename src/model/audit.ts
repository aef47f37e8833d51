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
export async function audit(db: Kysely<DB> | Transaction<DB>, e: AuditInput, at = Date.now()): Promise<void> {
  await db.insertInto('audit_log').values({
    at, actor: e.actor, action: e.action, entity: e.entity,
    entity_id: e.entityId === undefined || e.entityId === null ? null : String(e.entityId),
    before: e.before === undefined ? null : JSON.stringify(e.before),
    after: e.after === undefined ? null : JSON.stringify(e.after),
  }).execute();
}
