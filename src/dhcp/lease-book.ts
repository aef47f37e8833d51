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
  /** A full scan found no never-used address; only reuse from now on. */
  freshExhausted: boolean;
}

export class LeaseBook {
  private readonly scopes = new Map<number, ScopeLeases>();

  has(scopeId: number): boolean {
    return this.scopes.has(scopeId);
  }

  private book(scopeId: number): ScopeLeases {
    let b = this.scopes.get(scopeId);
    if (!b) {
      b = { byIp: new Map(), byMac: new Map(), cursor: 0, freshExhausted: false };
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
      const e: LeaseEntry = {
        scopeId, ip, mac: r.mac, clientId: r.client_id, hostname: r.hostname, state: r.state,
        expiresAt: r.expires_at, relayCircuit: r.relay_circuit, relayRemote: r.relay_remote,
      };
      b.byIp.set(ip, e);
      if (r.state !== 'declined') b.byMac.set(r.mac, e);
    }
  }

  /** A scope's pool or reservations changed: rescan for never-used addresses. */
  scopeChanged(scopeId: number): void {
    const b = this.scopes.get(scopeId);
    if (b) { b.freshExhausted = false; b.cursor = 0; }
  }

  /** The scopes the book holds leases for (those of subnets since deleted too). */
  scopeIds(): number[] {
    return [...this.scopes.keys()];
  }

  /**
   * A subnet (re)appeared in the inventory. Deleting a branch deletes its lease rows with it
   * (ON DELETE CASCADE), but its clients keep using their addresses until their leases end:
   * take over the bound and quarantined leases that deleted subnets (`goneIds`) hold inside
   * this one, so none of those addresses is offered to a second MAC. Returns every such lease
   * the scope now holds, for the caller to write back (the rows are gone from the database,
   * also when the subnet came back under its old id).
   */
  adopt(scope: Scope, goneIds: Iterable<number>, now: number): LeaseEntry[] {
    const b = this.book(scope.id);
    const keep = (e: LeaseEntry) => (e.state === 'bound' || e.state === 'declined') && e.expiresAt > now && cidrContains(scope.cidr, e.ip);
    for (const g of goneIds) {
      const old = g === scope.id ? undefined : this.scopes.get(g);
      if (!old) continue;
      for (const e of [...old.byIp.values()]) {
        if (!keep(e)) continue;
        const cur = b.byIp.get(e.ip);
        if (cur && LeaseBook.active(cur, now)) continue;
        old.byIp.delete(e.ip);
        if (old.byMac.get(e.mac) === e) old.byMac.delete(e.mac);
        const moved: LeaseEntry = { ...e, scopeId: scope.id, replaces: undefined };
        b.byIp.set(e.ip, moved);
        const mine = b.byMac.get(e.mac);
        if (e.state !== 'declined' && !(mine && LeaseBook.active(mine, now))) b.byMac.set(e.mac, moved);
      }
    }
    return [...b.byIp.values()].filter(keep);
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
    const fresh = this.fresh(scope, b);
    if (fresh !== undefined) return fresh;
    // RFC 2131 §4.3.1: otherwise reuse; oldest expiry first keeps recently-left clients' addresses longest.
    let best: LeaseEntry | undefined;
    for (const e of b.byIp.values()) {
      if (LeaseBook.active(e, now) || (best && e.expiresAt >= best.expiresAt)) continue;
      if (scope.reservedByIp.has(e.ip) || !inPool(scope, e.ip)) continue;
      best = e;
    }
    return best?.ip;
  }

  private fresh(scope: Scope, b: ScopeLeases): number | undefined {
    if (b.freshExhausted || scope.poolSize === 0) return undefined;
    for (let step = 0; step < scope.poolSize; step++) {
      const pos = (b.cursor + step) % scope.poolSize;
      const ip = poolAt(scope, pos);
      if (b.byIp.has(ip) || scope.reservedByIp.has(ip) || isExcluded(scope, ip)) continue;
      b.cursor = (pos + 1) % scope.poolSize;
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

  stats(scopeId: number, now: number): { active: number; known: number } {
    const b = this.scopes.get(scopeId);
    if (!b) return { active: 0, known: 0 };
    let active = 0;
    for (const e of b.byIp.values()) if (LeaseBook.active(e, now)) active++;
    return { active, known: b.byIp.size };
  }
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
