// How full each pool is, for /metrics: counted from the lease book at scrape time (the book is
// what decides offers; the database lags it by one commit batch). One pass over a subnet's
// leases and its reservations; nothing here runs per packet.
import type { DhcpMode } from '../db/schema.ts';
import { LeaseBook, type LeaseEntry } from './lease-book.ts';
import { inPool, type Scope } from './scopes.ts';

export interface PoolStats {
  scopeId: number;
  branchId: number;
  cidr: string;
  mode: DhcpMode;
  /** Addresses the pool may give any client: its ranges less exclusions and fixed addresses. */
  pool: number;
  /** Bound and unexpired (fixed addresses too). */
  bound: number;
  /** Offered, the client's REQUEST not yet in. */
  offered: number;
  /** Declined by a client (in use by someone unknown) and still in quarantine. */
  declined: number;
  /** Pool addresses nobody holds: what new clients can still get. */
  free: number;
  reservations: number;
  /** DISCOVERs this subnet left unanswered since serve started because no address was free. */
  exhausted: number;
}

/** Sorted, overlapping and touching intervals joined. */
function merge(intervals: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of [...intervals].sort((x, y) => x[0] - y[0])) {
    const last = out.at(-1);
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Addresses in the ranges and outside the exclusions (either may overlap itself: the gateway is an exclusion too). */
export function poolAddressCount(scope: Pick<Scope, 'ranges' | 'excluded'>): number {
  const excluded = merge(scope.excluded);
  let n = 0;
  for (const [a, b] of merge(scope.ranges)) {
    n += b - a + 1;
    for (const [x, y] of excluded) {
      const lo = Math.max(a, x);
      const hi = Math.min(b, y);
      if (lo <= hi) n -= hi - lo + 1;
    }
  }
  return n;
}

export function poolStats(scope: Scope, leases: Iterable<LeaseEntry>, now: number, exhausted = 0): PoolStats {
  let fixedInPool = 0;
  for (const ip of scope.reservedByIp.keys()) if (inPool(scope, ip)) fixedInPool++;
  const pool = poolAddressCount(scope) - fixedInPool;
  let bound = 0;
  let offered = 0;
  let declined = 0;
  let taken = 0;
  for (const e of leases) {
    if (!LeaseBook.active(e, now)) continue;
    if (e.state === 'bound') bound++;
    else if (e.state === 'offered') offered++;
    else declined++;
    if (!scope.reservedByIp.has(e.ip) && inPool(scope, e.ip)) taken++;
  }
  return {
    scopeId: scope.id, branchId: scope.branchId, cidr: scope.cidr.text, mode: scope.mode,
    pool, bound, offered, declined, free: Math.max(0, pool - taken), reservations: scope.reservedByIp.size, exhausted,
  };
}
