// Leases: the addresses DHCP has bound. Written in batches (one transaction for many clients,
// see dhcp/committer.ts); a row is the promise an ACK made, so it must be committed first.
import type { RawBuilder, SqlBool } from 'kysely';
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import type { Lease, LeaseState } from '../db/schema.ts';

export interface LeaseWrite {
  subnetId: number;
  ip: string;
  mac: string;
  clientId: string | null;
  hostname: string | null;
  state: LeaseState;
  expiresAt: number;
  relayCircuit: string | null;
  relayRemote: string | null;
}

export function listLeases(db: Db, subnetIds?: number[]): Promise<Lease[]> {
  let q = db.selectFrom('leases').selectAll();
  if (subnetIds) {
    if (subnetIds.length === 0) return Promise.resolve([]);
    q = q.where('subnet_id', 'in', subnetIds);
  }
  return q.orderBy('updated_at').execute();
}

/**
 * The one rule for an orphan lease its client may still use (a row of a deleted subnet, migration
 * 0006): bound or quarantined, unexpired, and not adopted yet (no subnet's row for the same
 * address and MAC lasting as long or longer). DHCP adopts these; the API and console list them;
 * pruneOrphanLeases deletes every other orphan row. `alias` names the leases row being tested.
 * The adoption check walks subnets (CROSS JOIN keeps SQLite from choosing leases as the outer
 * loop) so each step is a lookup in UNIQUE (subnet_id, ip): there is no index on ip alone, and a
 * scan of every lease per orphan row was a second per page at 60,000 leases.
 */
export function heldOrphan(alias: 'leases' | 'l', now: number): RawBuilder<SqlBool> {
  const c = (col: string) => sql.ref(`${alias}.${col}`);
  return sql<SqlBool>`(${c('subnet_id')} IS NULL AND ${c('state')} IN ('bound', 'declined') AND ${c('expires_at')} > ${now}
    AND NOT EXISTS (SELECT 1 FROM subnets adopter_s CROSS JOIN leases adopter_l
      WHERE adopter_l.subnet_id = adopter_s.id AND adopter_l.ip = ${c('ip')} AND adopter_l.mac = ${c('mac')} AND adopter_l.expires_at >= ${c('expires_at')}))`;
}

/** Orphan leases their clients may still use (heldOrphan). DHCP's lease book adopts them into a subnet that contains them. */
export function listOrphanLeases(db: Db, now: number): Promise<Lease[]> {
  return db.selectFrom('leases').selectAll().where('subnet_id', 'is', null)
    .where(heldOrphan('leases', now)).orderBy('updated_at').execute();
}

/**
 * Deletes orphan rows nobody holds any more: expired, never bound (an offer, a release), or
 * adopted (a subnet's row for the same address and MAC lasts as long or longer). Returns how many.
 */
export async function pruneOrphanLeases(db: Db, now: number): Promise<number> {
  const r = await db.deleteFrom('leases').where('subnet_id', 'is', null)
    .where((eb) => eb.not(heldOrphan('leases', now))).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export function getLeaseByMac(db: Db, mac: string): Promise<Lease[]> {
  return db.selectFrom('leases').selectAll().where('mac', '=', mac).orderBy('updated_at', 'desc').execute();
}

/**
 * Writes all rows in one transaction: one fsync for the lot (synchronous=FULL). Returns the
 * indexes of rows not written because their subnet is gone.
 */
export async function writeLeases(db: Db, rows: LeaseWrite[], now = Date.now()): Promise<number[]> {
  if (rows.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    // As leaseUpsertSql: a row whose subnet was deleted meanwhile is skipped, not the batch's end.
    const ids = [...new Set(rows.map((r) => r.subnetId))];
    const live = new Set((await trx.selectFrom('subnets').select('id').where('id', 'in', ids).execute()).map((r) => r.id));
    const kept = rows.filter((r) => live.has(r.subnetId));
    // 10 columns × 200 rows stays below SQLite's bound-parameter limit.
    for (let i = 0; i < kept.length; i += 200) {
      const values = kept.slice(i, i + 200).map((r) => ({
        subnet_id: r.subnetId, ip: r.ip, mac: r.mac, client_id: r.clientId, hostname: r.hostname,
        state: r.state, expires_at: r.expiresAt, relay_circuit: r.relayCircuit, relay_remote: r.relayRemote,
        updated_at: now,
      }));
      await trx.insertInto('leases').values(values)
        .onConflict((oc) => oc.columns(['subnet_id', 'ip']).doUpdateSet((eb) => ({
          mac: eb.ref('excluded.mac'), client_id: eb.ref('excluded.client_id'), hostname: eb.ref('excluded.hostname'),
          state: eb.ref('excluded.state'), expires_at: eb.ref('excluded.expires_at'),
          relay_circuit: eb.ref('excluded.relay_circuit'), relay_remote: eb.ref('excluded.relay_remote'),
          updated_at: eb.ref('excluded.updated_at'),
        })))
        .execute();
    }
    return rows.flatMap((r, i) => (live.has(r.subnetId) ? [] : [i]));
  });
}

/**
 * The same upsert as writeLeases, as one prepared statement. A row for a subnet that is gone
 * (an apply --prune in another process, before our snapshot noticed) is skipped, not a foreign
 * key error: that error rolled back the whole batch, and every client in it lost its ACK.
 * (WHERE on the SELECT also keeps SQLite from reading ON CONFLICT as a join's ON.) Positional
 * parameters: binding by name cost more than the insert's own work.
 */
export const leaseUpsertSql = `INSERT INTO leases (subnet_id, ip, mac, client_id, hostname, state, expires_at, relay_circuit, relay_remote, updated_at)
SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM subnets WHERE id = ?)
ON CONFLICT (subnet_id, ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id, hostname = excluded.hostname,
  state = excluded.state, expires_at = excluded.expires_at, relay_circuit = excluded.relay_circuit,
  relay_remote = excluded.relay_remote, updated_at = excluded.updated_at`;

/** leaseUpsertSql's parameters: its columns in order, then the subnet again for the existence check. */
export function leaseParams(r: LeaseWrite, now: number): [number, string, string, string | null, string | null, LeaseState, number, string | null, string | null, number, number] {
  return [r.subnetId, r.ip, r.mac, r.clientId, r.hostname, r.state, r.expiresAt, r.relayCircuit, r.relayRemote, now, r.subnetId];
}
