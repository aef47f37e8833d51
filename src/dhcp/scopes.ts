// The subnets DHCP serves, as ready-to-use numbers, refreshed from the inventory on a short
// TTL and at once when the inventory says it changed (no restart for a new pool or mode).
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import type { DhcpMode } from '../db/schema.ts';
import { listDhcpSubnets, listReservations, type SubnetRow } from '../model/dhcp-scopes.ts';
import { cidrContains, parseCidr, parseIpv4, parseRange, normalizeMac, type Cidr } from '../util/net.ts';

export interface Scope {
  id: number;
  branchId: number;
  cidr: Cidr;
  mode: DhcpMode;
  /** Pool ranges, inclusive, network/broadcast already removed. */
  ranges: Array<[number, number]>;
  poolSize: number;
  excluded: Array<[number, number]>;
  gateway: number | undefined;
  dns: number[];
  domain: string | undefined;
  leaseSeconds: number;
  tftpServer: number | undefined;
  /** mac → fixed address inside this subnet. */
  reservedByMac: Map<string, number>;
  /** fixed address → mac, so no other client is ever given it. */
  reservedByIp: Map<number, string>;
  /** The row's created_at: with id, which subnet this is (ids are reused after a delete). */
  createdAt: number;
}

export interface ScopeSnapshot {
  scopes: Scope[];
  /** When it was read (ms). */
  at: number;
  /** Rows that could not be used, for the log. */
  problems: string[];
}

export function buildScopes(rows: SubnetRow[], reservations: Array<{ mac: string; ip: string }>, now = Date.now()): ScopeSnapshot {
  const problems: string[] = [];
  const scopes: Scope[] = [];
  for (const r of rows) {
    const cidr = parseCidr(r.cidr);
    if (!cidr) { problems.push(`subnet ${r.id}: bad cidr ${r.cidr}`); continue; }
    const clip = ([a, b]: [number, number]): [number, number] | undefined => {
      // Never hand out the network or broadcast address of a subnet with room for hosts.
      const lo = Math.max(a, cidr.prefix < 31 ? cidr.network + 1 : cidr.network);
      const hi = Math.min(b, cidr.prefix < 31 ? cidr.broadcast - 1 : cidr.broadcast);
      return lo <= hi ? [lo, hi] : undefined;
    };
    const ranges: Array<[number, number]> = [];
    for (const t of r.ranges) {
      const rg = parseRange(t);
      const c = rg && cidrContains(cidr, rg[0]) && cidrContains(cidr, rg[1]) ? clip(rg) : undefined;
      if (c) ranges.push(c); else problems.push(`subnet ${r.cidr}: range "${t}" is not inside it`);
    }
    const excluded: Array<[number, number]> = [];
    for (const t of r.exclusions) {
      const rg = parseRange(t);
      if (rg) excluded.push(rg); else problems.push(`subnet ${r.cidr}: bad exclusion "${t}"`);
    }
    const gateway = r.gateway ? parseIpv4(r.gateway) : undefined;
    if (gateway !== undefined) excluded.push([gateway, gateway]);
    const reservedByMac = new Map<string, number>();
    const reservedByIp = new Map<number, string>();
    for (const res of reservations) {
      const ip = parseIpv4(res.ip);
      const mac = normalizeMac(res.mac);
      if (ip === undefined || !mac || !cidrContains(cidr, ip)) continue;
      reservedByMac.set(mac, ip);
      reservedByIp.set(ip, mac);
    }
    const tftp = r.serverTftp ? parseIpv4(r.serverTftp) : undefined;
    scopes.push({
      id: r.id, branchId: r.branchId, cidr, mode: r.mode, ranges,
      poolSize: ranges.reduce((n, [a, b]) => n + b - a + 1, 0),
      excluded,
      gateway, dns: r.dns.map(parseIpv4).filter((x): x is number => x !== undefined),
      domain: r.domain ?? undefined, leaseSeconds: r.leaseSeconds,
      tftpServer: tftp, reservedByMac, reservedByIp, createdAt: r.createdAt,
    });
  }
  return { scopes, at: now, problems };
}

export function inPool(s: Scope, ip: number): boolean {
  return s.ranges.some(([a, b]) => ip >= a && ip <= b) && !isExcluded(s, ip);
}

export function isExcluded(s: Scope, ip: number): boolean {
  return s.excluded.some(([a, b]) => ip >= a && ip <= b);
}

/** The subnet that contains `ip` (a relay's giaddr or our own interface address). */
export function scopeFor(snap: ScopeSnapshot, ip: number): Scope | undefined {
  let best: Scope | undefined;
  for (const s of snap.scopes) {
    if (cidrContains(s.cidr, ip) && (!best || s.cidr.prefix > best.cidr.prefix)) best = s;
  }
  return best;
}

/** Keeps a snapshot fresh: TTL plus the inventory's change events. Never throws into callers. */
export class ScopeCache {
  private snap: ScopeSnapshot = { scopes: [], at: 0, problems: [] };
  private loading: Promise<ScopeSnapshot> | undefined;
  private dirty = true;
  private readonly listeners: Array<(s: ScopeSnapshot) => Promise<void> | void> = [];

  constructor(private readonly db: Db, private readonly log: Logger, private readonly ttlMs = 5000) {}

  invalidate(): void {
    this.dirty = true;
  }

  /** Runs before a new snapshot is served (the lease book loads new subnets' leases here). */
  onLoad(fn: (s: ScopeSnapshot) => Promise<void> | void): void {
    this.listeners.push(fn);
  }

  current(): ScopeSnapshot {
    return this.snap;
  }

  /** The snapshot when it needs no reload (no promise per packet in the common case). */
  fresh(now = Date.now()): ScopeSnapshot | undefined {
    return !this.dirty && now - this.snap.at < this.ttlMs ? this.snap : undefined;
  }

  /** The snapshot, reloaded first when stale. A failed reload keeps serving the old one. */
  async get(now = Date.now()): Promise<ScopeSnapshot> {
    if (!this.dirty && now - this.snap.at < this.ttlMs) return this.snap;
    return this.reload();
  }

  reload(): Promise<ScopeSnapshot> {
    this.loading ??= (async () => {
      this.dirty = false;
      try {
        const [rows, res] = await Promise.all([listDhcpSubnets(this.db), listReservations(this.db)]);
        const next = buildScopes(rows, res);
        for (const p of next.problems) this.log.warn({ problem: p }, 'dhcp: subnet ignored in part');
        for (const l of this.listeners) await l(next);
        this.snap = next;
      } catch (err) {
        this.log.error({ err }, 'dhcp: could not read subnets; keeping the previous ones');
        this.snap = { ...this.snap, at: Date.now() };
      } finally {
        this.loading = undefined;
      }
      return this.snap;
    })();
    return this.loading;
  }
}
