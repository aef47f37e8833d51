// What the console's dashboard shows besides branches: machines booting right now (their
// latest boot event within a window) and recent failures, limited to the caller's branches.
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import { idsFrom } from './events.ts';
import type { BranchScope } from './scope.ts';

export interface RecentEvent { id: number; at: number; mac: string | null; ip: string | null; branchId: number | null; stage: string; detail: string }

function scoped(db: Db, scope: BranchScope) {
  let q = db.selectFrom('boot_events').select(['id', 'at', 'mac', 'ip', 'branch_id as branchId', 'stage', 'detail']);
  if (scope) q = q.where('branch_id', 'in', scope.length ? scope : [-1]);
  return q;
}

/** The newest event of each MAC seen since `since`, newest first. */
export async function bootingNow(db: Db, scope: BranchScope, since: number, limit = 50): Promise<RecentEvent[]> {
  const rows = await scoped(db, scope).where('at', '>=', since).where('id', '>', idsFrom(since)).where('mac', 'is not', null).orderBy('id', 'desc').limit(2000).execute();
  const seen = new Set<string>();
  const out: RecentEvent[] = [];
  for (const r of rows) {
    if (seen.has(r.mac!)) continue;
    seen.add(r.mac!);
    out.push(r);
    if (out.length >= limit) break;
  }
  return out;
}

/** Failures: plan errors, DHCP NAK/DECLINE and any stage that says error. */
export function recentFailures(db: Db, scope: BranchScope, since: number, limit = 20): Promise<RecentEvent[]> {
  return scoped(db, scope).where('at', '>=', since).where('id', '>', idsFrom(since))
    .where((eb) => eb.or([eb('stage', 'like', '%error%'), eb('stage', 'in', ['dhcp.nak', 'dhcp.decline', 'error'])]))
    .orderBy('id', 'desc').limit(limit).execute();
}

export async function eventsForMac(db: Db, mac: string, limit = 50): Promise<RecentEvent[]> {
  return db.selectFrom('boot_events').select(['id', 'at', 'mac', 'ip', 'branch_id as branchId', 'stage', 'detail'])
    .where('mac', '=', mac).orderBy('id', 'desc').limit(limit).execute();
}

export async function countDiscovered(db: Db, scope: BranchScope): Promise<number> {
  let q = db.selectFrom('machines').select(sql<number>`count(*)`.as('n')).where('state', '=', 'discovered');
  if (scope) q = q.where('branch_id', 'in', scope.length ? scope : [-1]);
  return Number((await q.executeTakeFirstOrThrow()).n);
}
