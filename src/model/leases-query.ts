// Leases for the API and console, newest first, limited to the caller's branches through the
// subnet each lease belongs to.
import type { Db } from '../db/index.ts';
import type { LeaseState } from '../db/schema.ts';
import type { BranchScope } from './scope.ts';

export interface LeaseView {
  id: number;
  ip: string;
  mac: string;
  hostname: string | null;
  state: LeaseState;
  expiresAt: number;
  updatedAt: number;
  subnet: string;
  branchId: number;
}

export interface LeaseQuery {
  branchId?: number | undefined;
  mac?: string | undefined;
  state?: LeaseState | undefined;
  beforeId?: number | undefined;
  limit?: number | undefined;
}

export async function queryLeases(db: Db, scope: BranchScope, q: LeaseQuery): Promise<LeaseView[]> {
  let sel = db.selectFrom('leases as l').innerJoin('subnets as s', 's.id', 'l.subnet_id')
    .select(['l.id', 'l.ip', 'l.mac', 'l.hostname', 'l.state', 'l.expires_at', 'l.updated_at', 's.cidr', 's.branch_id']);
  if (scope) sel = sel.where('s.branch_id', 'in', scope.length ? scope : [-1]);
  if (q.branchId !== undefined) sel = sel.where('s.branch_id', '=', q.branchId);
  if (q.mac) sel = sel.where('l.mac', '=', q.mac);
  if (q.state) sel = sel.where('l.state', '=', q.state);
  if (q.beforeId !== undefined) sel = sel.where('l.id', '<', q.beforeId);
  const rows = await sel.orderBy('l.id', 'desc').limit(Math.min(q.limit ?? 100, 1000)).execute();
  return rows.map((r) => ({
    id: r.id, ip: r.ip, mac: r.mac, hostname: r.hostname, state: r.state, expiresAt: r.expires_at, updatedAt: r.updated_at,
    subnet: r.cidr, branchId: r.branch_id,
  }));
}
