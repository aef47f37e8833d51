// A restore (`branchboot restore`) is written to the audit log like any admin change. The DHCP
// server reads the newest one at start: the leases handed out between the backup and the restore
// are in no table, and its lease book keeps clear of them for a lease time (dhcp/lease-book.ts).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import { audit } from './audit.ts';

const ENTITY = 'appliance';
const ACTION = 'restore';

export async function recordRestore(db: Kysely<DB> | Transaction<DB>, after: Record<string, unknown>, at = Date.now()): Promise<void> {
  await audit(db, { actor: 'cli', action: ACTION, entity: ENTITY, after }, at);
}

/** When the database was last restored from a backup (ms), if ever. */
export async function lastRestoreAt(db: Kysely<DB>): Promise<number | undefined> {
  const r = await db.selectFrom('audit_log').select((eb) => eb.fn.max('at').as('at'))
    .where('entity', '=', ENTITY).where('action', '=', ACTION).executeTakeFirst();
  return r?.at ?? undefined;
}
