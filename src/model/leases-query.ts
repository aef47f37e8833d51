// Leases for the API and console, newest first, limited to the caller's branches: through the
// subnet each lease belongs to, or, for an orphan lease (its subnet deleted, still held by its
// client until it ends, model/leases.ts heldOrphan), through the machine with its MAC.
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import type { LeaseState } from '../db/schema.ts';
import { heldOrphan } from './leases.ts';
import type { BranchScope } from './scope.ts';

interface LeaseBase {
  id: number;
  ip: string;
  mac: string;
  hostname: string | null;
  state: LeaseState;
  expiresAt: number;
  updatedAt: number;
}

export interface SubnetLease extends LeaseBase {
  orphan: false;
  subnet: string;
  branchId: number;
}

/**
 * A lease whose subnet row was deleted (apply --prune, a subnet deleted in the API or console)
 * that its client may still use until expiresAt: the address is in use on a network nobody
 * serves now, and a subnet added there later adopts it. It has no branch; machineBranchId is the
 * branch of the machine with its MAC (null: no such machine, or one without a branch), which is
 * what decides who sees it.
 */
export interface OrphanLease extends LeaseBase {
  orphan: true;
  subnet: null;
  branchId: null;
  machineBranchId: number | null;
}

export type LeaseView = SubnetLease | OrphanLease;

export interface LeaseQuery {
  /** A branch's leases: its subnets', and orphans of its machines. */
  branchId?: number | undefined;
  mac?: string | undefined;
  state?: LeaseState | undefined;
  /** true: orphans only; false: subnet leases only. */
  orphan?: boolean | undefined;
  beforeId?: number | undefined;
  limit?: number | undefined;
  now?: number | undefined;
}

export async function queryLeases(db: Db, scope: BranchScope, q: LeaseQuery): Promise<LeaseView[]> {
  const now = q.now ?? Date.now();
  const machineBranch = sql<number | null>`(SELECT m.branch_id FROM machines m WHERE m.mac = l.mac)`;
  // Orphan rows nobody holds any more (expired, released, adopted) are not shown: the next
  // prune deletes them, and a subnet lease's history is not kept past its subnet either.
  const orphanHeld = heldOrphan('l', now);
  let sel = db.selectFrom('leases as l').leftJoin('subnets as s', 's.id', 'l.subnet_id')
    .select(['l.id', 'l.ip', 'l.mac', 'l.hostname', 'l.state', 'l.expires_at', 'l.updated_at', 's.cidr', 's.branch_id'])
    .select(sql<number | null>`CASE WHEN l.subnet_id IS NULL THEN ${machineBranch} END`.as('machine_branch_id'));
  const branches: number[] | null = q.branchId !== undefined
    ? (scope === null || scope.includes(q.branchId) ? [q.branchId] : [])
    : scope;
  sel = sel.where((eb) => {
    const subnetSide = eb.and([eb('l.subnet_id', 'is not', null), ...(branches ? [eb('s.branch_id', 'in', branches.length ? branches : [-1])] : [])]);
    const orphanSide = branches
      ? eb.and([orphanHeld, eb(machineBranch, 'in', branches.length ? branches : [-1])])
      : orphanHeld;
    if (q.orphan === true) return orphanSide;
    if (q.orphan === false) return subnetSide;
    return eb.or([subnetSide, orphanSide]);
  });
  if (q.mac) sel = sel.where('l.mac', '=', q.mac);
  if (q.state) sel = sel.where('l.state', '=', q.state);
  if (q.beforeId !== undefined) sel = sel.where('l.id', '<', q.beforeId);
  const rows = await sel.orderBy('l.id', 'desc').limit(Math.min(q.limit ?? 100, 1000)).execute();
  return rows.map((r): LeaseView => {
    const base = { id: r.id, ip: r.ip, mac: r.mac, hostname: r.hostname, state: r.state, expiresAt: r.expires_at, updatedAt: r.updated_at };
    return r.cidr === null || r.branch_id === null
      ? { ...base, orphan: true, subnet: null, branchId: null, machineBranchId: r.machine_branch_id }
      : { ...base, orphan: false, subnet: r.cidr, branchId: r.branch_id };
  });
}
