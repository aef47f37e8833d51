// The lease state in memory: the one place that decides which address a client gets, so no
// two MACs ever hold one address. The database is its durable copy (loaded at start, written
// through the committer); every decision is made here synchronously, before any await.
import type { Lease } from '../db/schema.ts';
import type { LeaseWrite } from '../model/leases.ts';
import { cidrContains, ipv4ToString, parseIpv4 } from '../util/net.ts';
import { inPool, isExcluded, type Scope } from './scopes.ts';

/** A lease as the book holds it: the row the committer writes, keyed by scope and numeric address. */
export type LeaseEntry = Omit<LeaseWrite, 'subnetId' | 'ip'> & {
  scopeId: number;
  ip: number;
  /** On an offer of a new address: the client's bound lease it would replace (see set()). */
  replaces?: LeaseEntry | undefined;
};

/** An offer holds its address this long for the client's REQUEST (PXE firmware waits ~4 s collecting offers). */
export const OFFER_HOLD_MS = 30_000;
/** RFC 2131 §3.1 step 5 / §4.3.3: a declined address is in use by someone unknown; keep it out for a while. */
export const DECLINE_QUARANTINE_MS = 10 * 60_000;

interface ScopeLeases {
  byIp: Map<number, LeaseEntry>;
  byMac: Map<string, LeaseEntry>;
  /** Next pool position to try for a never-used address. */
  cursor: number;
  /** The same, counted down from the top of the pool (after a restore, see restoredAt). */
  down: number;
  /** A full scan found no never-used address; only reuse from now on. */
  freshExhausted: boolean;
}

export class LeaseBook {
  private readonly scopes = new Map<number, ScopeLeases>();
  /** Held leases of deleted subnets, by address, until a subnet adopts them or they expire. */
  private readonly orphans = new Map<number, LeaseEntry>();
  /**
   * When the database was restored from a backup (`branchboot restore`). The leases the old
   * server handed out after the backup are in no row: their clients renew them (an address free
   * here is ACKed to whoever asks for it, request()), but until then this book takes those
   * addresses for free. The old server gave out never-used addresses from the bottom of the pool
   * and reused the longest-expired ones, so for one lease time after a restore new clients get
   * never-used addresses from the top and the most recently expired ones: after that every
   * unknown lease has been renewed here or has ended. Probing before offering (ISC dhcpd's
   * ping-check) would also find hosts that do not renew, but Windows desktops drop pings by
   * default and a relayed subnet cannot be ARPed.
   */
  restoredAt: number | undefined;

  has(scopeId: number): boolean {
    return this.scopes.has(scopeId);
  }

  private book(scopeId: number): ScopeLeases {
    let b = this.scopes.get(scopeId);
    if (!b) {
      b = { byIp: new Map(), byMac: new Map(), cursor: 0, down: 0, freshExhausted: false };
      this.scopes.set(scopeId, b);
    }
    return b;
  }

  /** Rows from the database, oldest update first, so a MAC's newest row is its current one. */
  load(scopeId: number, rows: Lease[]): void {
    const b = this.book(scopeId);
    for (const r of rows) {
      const ip = parseIpv4(r.ip);
      if (ip === undefined) continue;
      const e = entryOf(scopeId, ip, r);
      b.byIp.set(ip, e);
      if (r.state !== 'declined') b.byMac.set(r.mac, e);
    }
  }

  /** A scope's pool or reservations changed: rescan for never-used addresses. */
  scopeChanged(scopeId: number): void {
    const b = this.scopes.get(scopeId);
    if (b) { b.freshExhausted = false; b.cursor = 0; b.down = 0; }
  }

  /** The scopes the book holds leases for. */
  scopeIds(): number[] {
    return [...this.scopes.keys()];
  }

  /**
   * A subnet row is gone (deleted, or replaced by a new row under its id): its clients keep
   * using their addresses until their leases end, so its held leases wait in the orphan pool
   * for a subnet that contains them (adopt()).
   */
  retire(scopeId: number, now: number): void {
    const b = this.scopes.get(scopeId);
    if (!b) return;
    this.scopes.delete(scopeId);
    for (const e of b.byIp.values()) this.orphan(e, now);
  }

  /** Rows whose subnet was deleted (subnet_id NULL, migration 0006), from this or an earlier run. */
  loadOrphans(rows: Lease[], now: number): void {
    for (const r of rows) {
      const ip = parseIpv4(r.ip);
      if (ip !== undefined) this.orphan(entryOf(ORPHAN_SCOPE, ip, r), now);
    }
  }

  private orphan(e: LeaseEntry, now: number): void {
    if (!LeaseBook.held(e, now)) return;
    const cur = this.orphans.get(e.ip);
    // The same lease from the book and from its row: the book's is as new or newer.
    if (!cur || cur.expiresAt < e.expiresAt) this.orphans.set(e.ip, { ...e, scopeId: ORPHAN_SCOPE, replaces: undefined });
  }

  /**
   * The one rule for a subnet added (at start, or in a running server after a prune and re-add):
   * it takes every unexpired bound or quarantined orphan lease inside its network, unless it
   * holds that address itself already, so none of those addresses is offered to a second MAC.
   * Returns the leases it took, for the caller to write under this subnet's id.
   */
  adopt(scope: Scope, now: number): LeaseEntry[] {
    const b = this.book(scope.id);
    const taken: LeaseEntry[] = [];
    for (const [ip, e] of this.orphans) {
      if (!LeaseBook.held(e, now)) { this.orphans.delete(ip); continue; }
      if (!cidrContains(scope.cidr, ip)) continue;
      this.orphans.delete(ip);
      const cur = b.byIp.get(ip);
      if (cur && LeaseBook.active(cur, now)) continue;
      const moved: LeaseEntry = { ...e, scopeId: scope.id };
      b.byIp.set(ip, moved);
      const mine = b.byMac.get(e.mac);
      if (e.state !== 'declined' && !(mine && LeaseBook.active(mine, now))) b.byMac.set(e.mac, moved);
      taken.push(moved);
    }
    return taken;
  }

  /** How many orphan leases wait for a subnet. */
  orphanCount(): number {
    return this.orphans.size;
  }

  /** A lease its client may still use though its subnet is gone: bound, or quarantined, and unexpired. */
  static held(e: LeaseEntry, now: number): boolean {
    return (e.state === 'bound' || e.state === 'declined') && e.expiresAt > now;
  }

  byMac(scopeId: number, mac: string): LeaseEntry | undefined {
    return this.scopes.get(scopeId)?.byMac.get(mac);
  }

  byIp(scopeId: number, ip: number): LeaseEntry | undefined {
    return this.scopes.get(scopeId)?.byIp.get(ip);
  }

  /** Held by someone right now (bound and unexpired, an open offer, or quarantined). */
  static active(e: LeaseEntry, now: number): boolean {
    return (e.state === 'bound' || e.state === 'offered' || e.state === 'declined') && e.expiresAt > now;
  }

  /** May `mac` have `ip` in this scope? */
  usableBy(scope: Scope, ip: number, mac: string, now: number): boolean {
    const reservedFor = scope.reservedByIp.get(ip);
    if (reservedFor !== undefined) return reservedFor === mac && !isExcluded(scope, ip) && this.freeFor(scope.id, ip, mac, now);
    return inPool(scope, ip) && this.freeFor(scope.id, ip, mac, now);
  }

  /** `mac` has a fixed address here it cannot have yet (another MAC's lease holds it): a pool address may stand in. */
  reservationWaits(scope: Scope, mac: string, now: number): boolean {
    const reserved = scope.reservedByMac.get(mac);
    return reserved !== undefined && !this.usableBy(scope, reserved, mac, now);
  }

  private freeFor(scopeId: number, ip: number, mac: string, now: number): boolean {
    const e = this.scopes.get(scopeId)?.byIp.get(ip);
    if (!e) return true;
    if (e.state === 'declined') return e.expiresAt <= now;
    return e.mac === mac || !LeaseBook.active(e, now);
  }

  /**
   * The address for a DISCOVER: the client's reservation, else its current or last address,
   * else the one it asks for, else a never-used one, else the longest-expired one.
   */
  choose(scope: Scope, mac: string, requested: number | undefined, now: number): number | undefined {
    const reserved = scope.reservedByMac.get(mac);
    if (reserved !== undefined && this.usableBy(scope, reserved, mac, now)) return reserved;
    // A fixed address another MAC still leases (it was a pool address when that client got it):
    // a pool address meanwhile, as Kea does; the holder is NAKed at its next renew, and this
    // client at its own once the fixed address is free (request(): reservationWaits).
    const b = this.book(scope.id);
    const mine = b.byMac.get(mac);
    if (mine && mine.state !== 'declined' && this.usableBy(scope, mine.ip, mac, now)) return mine.ip;
    if (requested !== undefined && this.usableBy(scope, requested, mac, now)) return requested;
    const afterRestore = this.inProbation(scope, now);
    const fresh = this.fresh(scope, b, afterRestore);
    if (fresh !== undefined) return fresh;
    // RFC 2131 §4.3.1: otherwise reuse; oldest expiry first keeps recently-left clients' addresses longest.
    let best: LeaseEntry | undefined;
    for (const e of b.byIp.values()) {
      if (LeaseBook.active(e, now)) continue;
      if (best && (afterRestore ? e.expiresAt <= best.expiresAt : e.expiresAt >= best.expiresAt)) continue;
      if (scope.reservedByIp.has(e.ip) || !inPool(scope, e.ip)) continue;
      best = e;
    }
    return best?.ip;
  }

  /** Within one lease time of a restore (see restoredAt). */
  inProbation(scope: Scope, now: number): boolean {
    return this.restoredAt !== undefined && now < this.restoredAt + scope.leaseSeconds * 1000;
  }

  private fresh(scope: Scope, b: ScopeLeases, fromTop: boolean): number | undefined {
    if (b.freshExhausted || scope.poolSize === 0) return undefined;
    const n = scope.poolSize;
    for (let step = 0; step < n; step++) {
      const k = ((fromTop ? b.down : b.cursor) + step) % n;
      const pos = fromTop ? n - 1 - k : k;
      const ip = poolAt(scope, pos);
      if (b.byIp.has(ip) || scope.reservedByIp.has(ip) || isExcluded(scope, ip)) continue;
      if (fromTop) b.down = (k + 1) % n;
      else b.cursor = (k + 1) % n;
      return ip;
    }
    b.freshExhausted = true;
    return undefined;
  }

  /** Records a decision; returns the entry the client held before at another address, if any. */
  set(e: LeaseEntry): LeaseEntry | undefined {
    const b = this.book(e.scopeId);
    const prevForMac = b.byMac.get(e.mac);
    const prevAtIp = b.byIp.get(e.ip);
    // The address changes hands: its former holder no longer has it.
    if (prevAtIp && prevAtIp.mac !== e.mac && b.byMac.get(prevAtIp.mac) === prevAtIp) b.byMac.delete(prevAtIp.mac);
    b.byIp.set(e.ip, e);
    if (e.state === 'declined') {
      if (prevForMac?.ip === e.ip) b.byMac.delete(e.mac);
      return undefined;
    }
    // An offer of a new address remembers the bound lease it replaces: by the REQUEST that takes
    // the offer, byMac points at the offer, and the old address stayed bound to this client
    // until its lease ran out (a fixed address added, a pool moved: for hours, and a newly
    // reserved address its owner waited for stayed taken).
    const before = prevForMac && prevForMac.ip !== e.ip ? prevForMac : prevForMac?.replaces;
    const held = before && before.ip !== e.ip && before.mac === e.mac && b.byIp.get(before.ip) === before ? before : undefined;
    if (e.state === 'offered' && held?.state === 'bound') e.replaces = held;
    b.byMac.set(e.mac, e);
    return held;
  }

  /** Every lease the book holds in a scope (for /metrics: read, never changed). */
  entries(scopeId: number): Iterable<LeaseEntry> {
    return this.scopes.get(scopeId)?.byIp.values() ?? [];
  }

  stats(scopeId: number, now: number): { active: number; known: number } {
    const b = this.scopes.get(scopeId);
    if (!b) return { active: 0, known: 0 };
    let active = 0;
    for (const e of b.byIp.values()) if (LeaseBook.active(e, now)) active++;
    return { active, known: b.byIp.size };
  }
}

/** The scope id of a lease in the orphan pool: no subnet's (ids start at 1). */
const ORPHAN_SCOPE = 0;

function entryOf(scopeId: number, ip: number, r: Lease): LeaseEntry {
  return {
    scopeId, ip, mac: r.mac, clientId: r.client_id, hostname: r.hostname, state: r.state,
    expiresAt: r.expires_at, relayCircuit: r.relay_circuit, relayRemote: r.relay_remote,
  };
}

function poolAt(scope: Scope, pos: number): number {
  let p = pos;
  for (const [a, b] of scope.ranges) {
    const n = b - a + 1;
    if (p < n) return a + p;
    p -= n;
  }
  return scope.ranges[0]![0];
}

export function entryIp(e: LeaseEntry): string {
  return ipv4ToString(e.ip);
}
