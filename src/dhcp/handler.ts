// One request in, at most one reply out. Decodes, picks the subnet (relay's giaddr, the
// address the packet reached, or our only attached subnet), applies the subnet's mode and
// RFC 2131 §4.3, and asks the planner for the boot file. Never throws: a bad packet is a
// debug line and silence.
import type { Logger } from 'pino';
import type { BootPlanner } from '../boot/types.ts';
import type { TargetLookups } from '../boot/resolve.ts';
import type { Registration } from '../model/boot-queries.ts';
import type { EventBus } from '../events.ts';
import type { LeaseState } from '../db/schema.ts';
import type { LeaseWrite } from '../model/leases.ts';
import { cidrContains, ipv4ToString } from '../util/net.ts';
import { bootClient, clientFacts, isEthernet, type ClientFacts } from './client.ts';
import { LeaseCommitter } from './committer.ts';
import { MESSAGE_NAMES, MessageType, Opt } from './constants.ts';
import { replyDestination, SERVER_PORT, type Destination } from './destination.ts';
import { DECLINE_QUARANTINE_MS, LeaseBook, OFFER_HOLD_MS, type LeaseEntry } from './lease-book.ts';
import { readIp, readU8 } from './options.ts';
import { decodePacket, type DhcpPacket } from './packet.ts';
import { RateLimiter } from './rate-limit.ts';
import { buildReply, type BootInfo, type ReplySpec } from './reply.ts';
import { scopeFor, type Scope, type ScopeCache, type ScopeSnapshot } from './scopes.ts';
import type { SightingRecorder } from './sightings.ts';
import { FirstFileMemo } from './first-file-memo.ts';
import { once } from './memo-map.ts';

export interface LocalAddress {
  ifname: string;
  address: number;
  mask: number;
}

export interface Incoming {
  from: { address: string; port: number };
  /** The specific address of the socket that received it (unicast to us), if any. */
  localAddress?: number | undefined;
  /** Arrived on the proxyDHCP port (4011). */
  proxyPort?: boolean;
}

export interface Outgoing {
  buf: Buffer;
  dest: Destination;
  /** Send from the socket bound to this address, so a broadcast leaves by the right interface. */
  via?: number | undefined;
  type: MessageType;
}

export interface HandlerLimits {
  perMacPerSecond: number;
  perMacBurst: number;
  perRelayPerSecond: number;
  perRelayBurst: number;
}

export const DEFAULT_LIMITS: HandlerLimits = { perMacPerSecond: 10, perMacBurst: 20, perRelayPerSecond: 20000, perRelayBurst: 40000 };

export interface HandlerDeps {
  log: Logger;
  events: Pick<EventBus, 'record'>;
  planner: Pick<BootPlanner, 'firstFile'>;
  /** Where the planner reads a client's rows (boot-lookups.ts); the database when absent. */
  lookups?: (TargetLookups<Registration> & { readonly databaseReads: number }) | undefined;
  /** Keeps the planner's answers between a client's DISCOVER and REQUEST (none: ask every time). */
  firstFiles?: FirstFileMemo;
  scopes: ScopeCache;
  book: LeaseBook;
  committer: LeaseCommitter;
  sightings: SightingRecorder;
  localAddresses: () => LocalAddress[];
  /** Interfaces named in dhcp.interfaces: preferred when several attached subnets could match. */
  interfaces: string[];
  relayPort?: number;
  limits?: HandlerLimits;
  now?: () => number;
}

interface Located { scope: Scope; serverId: number }

/** Text of this server's addresses and of the relays': the same few in every packet of a storm. */
const addressTexts = new Map<number, string>();

export class DhcpHandler {
  private readonly perMac: RateLimiter;
  private readonly perRelay: RateLimiter;
  private readonly now: () => number;
  private lastWarn = new Map<string, number>();
  counters = { received: 0, malformed: 0, limited: 0, replied: 0, silent: 0, exhausted: 0 };
  /** DISCOVERs left unanswered for want of a free address, by subnet id: which pool an alert should name. */
  readonly exhaustedBySubnet = new Map<number, number>();

  constructor(private readonly d: HandlerDeps) {
    const l = d.limits ?? DEFAULT_LIMITS;
    this.perMac = new RateLimiter(l.perMacPerSecond, l.perMacBurst);
    this.perRelay = new RateLimiter(l.perRelayPerSecond, l.perRelayBurst, 10_000);
    this.now = d.now ?? Date.now;
  }

  async handle(buf: Buffer, meta: Incoming): Promise<Outgoing | undefined> {
    this.counters.received++;
    try {
      const out = await this.handleInner(buf, meta);
      if (out) this.counters.replied++; else this.counters.silent++;
      return out;
    } catch (err) {
      this.d.log.error({ err, from: meta.from }, 'dhcp: request failed');
      return undefined;
    }
  }

  private async handleInner(buf: Buffer, meta: Incoming): Promise<Outgoing | undefined> {
    const dec = decodePacket(buf);
    if (!dec.ok) { this.counters.malformed++; this.d.log.debug({ from: meta.from, reason: dec.reason }, 'dhcp: dropped malformed packet'); return undefined; }
    const p = dec.packet;
    if (!isEthernet(p)) { this.d.log.debug({ htype: p.htype, hlen: p.hlen }, 'dhcp: not Ethernet, ignored'); return undefined; }
    const type = readU8(p.options, Opt.MessageType);
    if (type === undefined || type < 1 || type > 8) { this.d.log.debug({ from: meta.from }, 'dhcp: BOOTP or bad message type, ignored'); return undefined; }
    const facts = clientFacts(p);
    const now = this.now();
    if (!this.perMac.allow(facts.mac, now) || (p.giaddr !== 0 && !this.perRelay.allow(String(p.giaddr), now))) {
      this.counters.limited++;
      this.d.log.debug({ mac: facts.mac, giaddr: ipv4ToString(p.giaddr) }, 'dhcp: rate limited');
      return undefined;
    }
    const snap = this.d.scopes.fresh(now) ?? await this.d.scopes.get(now);
    const loc = this.locate(p, meta, snap);
    if (!loc) { this.d.log.debug({ mac: facts.mac, type: MESSAGE_NAMES[type] }, 'dhcp: no subnet for this request'); return undefined; }
    const { scope } = loc;
    if (scope.mode === 'off') return undefined;
    if (!this.d.sightings.knows(facts.mac)) this.d.sightings.saw({
      mac: facts.mac, branchId: scope.branchId ?? null, arch: facts.arch, firmware: facts.firmware, uuid: facts.uuid,
      relayCircuit: facts.relay?.circuitId, relayRemote: facts.relay?.remoteId,
    });
    if (meta.proxyPort) return this.proxyBootServer(p, facts, loc, meta, type);
    if (scope.mode === 'proxy') return this.proxyOffer(p, facts, loc, type);
    switch (type as MessageType) {
      case MessageType.Discover: return this.discover(p, facts, loc, now);
      case MessageType.Request: return this.request(p, facts, loc, now);
      case MessageType.Decline: this.decline(p, facts, loc, now); return undefined;
      case MessageType.Release: this.release(p, facts, loc, now); return undefined;
      case MessageType.Inform: return this.inform(p, facts, loc);
      default: return undefined;
    }
  }

  /** Which subnet, and which of our addresses is the server identifier there. */
  private locate(p: DhcpPacket, meta: Incoming, snap: ScopeSnapshot): Located | undefined {
    const locals = this.d.localAddresses();
    // Relayed (the common case of a central server): no closures built per packet.
    if (p.giaddr !== 0) {
      const scope = scopeFor(snap, p.giaddr);
      if (!scope || !this.relayPlausible(p.giaddr, scope, meta, locals)) return undefined;
      const id = meta.localAddress ?? fallbackAddress(locals);
      return id !== undefined ? { scope, serverId: id } : undefined;
    }
    const ownIn = (s: Scope) => locals.find((l) => cidrContains(s.cidr, l.address))?.address;
    const fallbackId = () => meta.localAddress ?? fallbackAddress(locals);
    const from = parseFrom(meta.from.address);
    // A client with an address sends from it (RFC 2131 §4.4.5, §4.4.6: RENEW, REBIND, INFORM,
    // RELEASE): a ciaddr of a served subnet from another source is someone else's address.
    if (p.ciaddr !== 0 && from !== 0 && from !== p.ciaddr) return undefined;
    // The interface the datagram came in on (IP_PKTINFO, or the socket bound to one address).
    const arrived = meta.localAddress !== undefined && (meta.localAddress >>> 24) !== 127
      ? locals.find((l) => l.address === meta.localAddress)?.ifname : undefined;
    // From 0.0.0.0 the client is on the link it arrived on: only that link's subnet may answer,
    // whatever ciaddr claims (a desktop on an unconfigured LAN named a served address there).
    const clientAddr = p.ciaddr !== 0 && (from !== 0 || arrived === undefined) ? p.ciaddr : from !== 0 ? from : undefined;
    if (clientAddr !== undefined) {
      const scope = scopeFor(snap, clientAddr);
      // A subnet on one of our own links is reached on that link, never on another of our
      // interfaces (a source address of eth0's subnet broadcast on eth1 is spoofed). A routed
      // subnet (a relay's, renewing by unicast) arrives on whichever interface routes it.
      if (scope && arrived !== undefined) {
        const links = locals.filter((l) => cidrContains(scope.cidr, l.address)).map((l) => l.ifname);
        if (links.length > 0 && !links.includes(arrived)) return undefined;
      }
      const id = scope ? ownIn(scope) ?? fallbackId() : undefined;
      if (scope && id !== undefined) return { scope, serverId: id };
      // An addressed client of no served subnet is not ours, even if it reached our address on
      // a served link (the weak host model takes any of our addresses on any interface).
      if (from !== 0 && arrived !== undefined) return undefined;
    }
    if (meta.localAddress !== undefined && (meta.localAddress >>> 24) !== 127) {
      const scope = scopeFor(snap, meta.localAddress);
      return scope ? { scope, serverId: meta.localAddress } : undefined;
    }
    // A broadcast from a client without an address, and no local address to tell its interface:
    // only with the dgram fallback (no IP_PKTINFO). It must be the one attached subnet we serve
    // (or the one on a dhcp.interfaces entry).
    let cands = snap.scopes.filter((s) => s.mode !== 'off' && ownIn(s) !== undefined);
    if (cands.length > 1 && this.d.interfaces.length > 0) {
      cands = cands.filter((s) => locals.some((l) => this.d.interfaces.includes(l.ifname) && cidrContains(s.cidr, l.address)));
    }
    if (cands.length === 1) return { scope: cands[0]!, serverId: ownIn(cands[0]!)! };
    if (cands.length > 1) this.warnOnce('ambiguous', { subnets: cands.map((s) => s.cidr.text) }, 'dhcp: a broadcast could belong to several attached subnets; use relays or one dhcp.interfaces entry');
    return undefined;
  }

  /**
   * A relay is never one of our own addresses, and a relay on a subnet attached to us sits on
   * that link, so its packets arrive there (a desktop on an unserved LAN wrote our eth0 address
   * or one of eth0's subnet as giaddr, and the server offered from eth0's pool). A routed
   * relay's subnet is not attached: its packets may come in on any interface.
   */
  private relayPlausible(giaddr: number, scope: Scope, meta: Incoming, locals: LocalAddress[]): boolean {
    // Loopback is exempt: no packet from the network reaches a 127/8 subnet scope (tests relay over lo).
    // Plain loops: this runs for every relayed packet (the benchmark's and a central server's path).
    let attached = false;
    for (const l of locals) {
      if (l.address === giaddr && (giaddr >>> 24) !== 127) return false;
      if (cidrContains(scope.cidr, l.address)) attached = true;
    }
    if (!attached) return true;
    // On the link, the relay sends from its address there. The address a unicast reached does
    // not tell its interface (any of our addresses answers on any link), the source does.
    const from = parseFrom(meta.from.address);
    if (from !== 0 && !cidrContains(scope.cidr, from)) return false;
    if (meta.localAddress === undefined || (meta.localAddress >>> 24) === 127) return true;
    let arrived: string | undefined;
    for (const l of locals) if (l.address === meta.localAddress) arrived = l.ifname;
    if (arrived === undefined) return true;
    for (const l of locals) if (l.ifname === arrived && cidrContains(scope.cidr, l.address)) return true;
    return false;
  }

  private async bootInfo(facts: ClientFacts, loc: Located, clientIp: number | undefined): Promise<BootInfo | undefined> {
    if (!facts.pxe && !facts.ipxe) return undefined;
    try {
      const client = bootClient(facts, {
        branchId: loc.scope.branchId, serverAddress: once(addressTexts, loc.serverId, ipv4ToString),
        clientIp: clientIp ? ipv4ToString(clientIp) : undefined,
      });
      const memo = this.d.firstFiles;
      const now = this.now();
      // An empty memo (a storm of new machines, whose answers are not kept) is not asked: the
      // key is a ~60-character string built and hashed per packet.
      let key = memo !== undefined && memo.size > 0 ? FirstFileMemo.key(client) : undefined;
      let file = key !== undefined ? memo!.get(key, now) : undefined;
      if (file === undefined) {
        const lookups = this.d.lookups;
        const reads = lookups?.databaseReads;
        file = await this.d.planner.firstFile(client, lookups);
        if (file.unsupported) this.d.log.debug({ mac: facts.mac, reason: file.unsupported }, 'dhcp: no boot file for this client');
        // Kept only when it cost a database read (first-file-memo.ts). A new or registered
        // machine's answer costs none, and keeping 10,000 of them cost more than asking again
        // (bench/dhcp/cpu.ts, PXE: 62-66 µs per DORA without the memo, 65-97 with it).
        if (memo !== undefined && (lookups === undefined || lookups.databaseReads !== reads)) memo.set(key ??= FirstFileMemo.key(client), file, now);
      }
      return { file, nextServer: loc.scope.tftpServer ?? loc.serverId };
    } catch (err) {
      this.d.log.error({ err, mac: facts.mac }, 'dhcp: planner failed; answering without boot information');
      return undefined;
    }
  }

  /**
   * `answers`: the DISCOVER this OFFER answers. Its facts go into the offer's event, one row for
   * the pair instead of two (a row costs the packet thread ~10 µs with its indexes, a third of
   * the events' cost per DORA); a DISCOVER that gets no offer still has its own row.
   */
  private reply(p: DhcpPacket, facts: ClientFacts, loc: Located, spec: ReplySpec, dest?: Destination, answers?: boolean): Outgoing | undefined {
    const buf = buildReply(p, facts, spec);
    if (!buf) {
      if (answers) this.recordEvent('dhcp.discover', facts, loc, p);
      this.d.log.warn({ mac: facts.mac }, 'dhcp: reply does not fit the client\'s maximum size');
      return undefined;
    }
    const stage = spec.type === MessageType.Offer ? 'dhcp.offer' : spec.type === MessageType.Ack ? 'dhcp.ack' : spec.type === MessageType.Nak ? 'dhcp.nak' : undefined;
    if (stage) {
      const detail: Record<string, unknown> = { xid: p.xid };
      if (answers) { detail.discover = true; detail.firmware = facts.firmware; if (facts.vendorClass) detail.vendorClass = facts.vendorClass; }
      if (spec.boot) detail.file = spec.boot.file.bootfile;
      if (spec.proxy) detail.proxy = true;
      if (p.giaddr !== 0) detail.relay = once(addressTexts, p.giaddr, ipv4ToString);
      if (spec.message) detail.message = spec.message;
      this.d.events.record({ stage, mac: facts.mac, ip: spec.yiaddr ? ipv4ToString(spec.yiaddr) : null, branchId: loc.scope.branchId, detail });
    }
    return { buf, dest: dest ?? replyDestination(p, spec.type, this.d.relayPort ?? SERVER_PORT), via: loc.serverId, type: spec.type };
  }

  private recordEvent(stage: string, facts: ClientFacts, loc: Located, p: DhcpPacket, ip?: number): void {
    const detail: Record<string, unknown> = { xid: p.xid, firmware: facts.firmware };
    if (facts.vendorClass) detail.vendorClass = facts.vendorClass;
    if (p.giaddr !== 0) detail.relay = once(addressTexts, p.giaddr, ipv4ToString);
    this.d.events.record({ stage, mac: facts.mac, ip: ip ? ipv4ToString(ip) : null, branchId: loc.scope.branchId, detail });
  }

  private entry(loc: Located, facts: ClientFacts, ip: number, state: LeaseState, expiresAt: number): LeaseEntry {
    return {
      scopeId: loc.scope.id, ip, mac: facts.mac, clientId: facts.clientId, hostname: facts.hostname, state, expiresAt,
      relayCircuit: facts.relay?.circuitId ?? null, relayRemote: facts.relay?.remoteId ?? null,
    };
  }

  private async discover(p: DhcpPacket, facts: ClientFacts, loc: Located, now: number): Promise<Outgoing | undefined> {
    const ip = this.d.book.choose(loc.scope, facts.mac, readIp(p.options, Opt.RequestedIp), now);
    if (ip === undefined) {
      this.counters.exhausted++;
      this.exhaustedBySubnet.set(loc.scope.id, (this.exhaustedBySubnet.get(loc.scope.id) ?? 0) + 1);
      this.recordEvent('dhcp.discover', facts, loc, p);
      // RFC 2131 §4.3.1: no address → no offer. Logged, not answered.
      this.warnOnce(`exhausted:${loc.scope.id}`, { subnet: loc.scope.cidr.text, mac: facts.mac }, 'dhcp: pool exhausted; not answering');
      return undefined;
    }
    const held = this.d.book.byIp(loc.scope.id, ip);
    // Keep a bound lease bound while offering it again; only a free address becomes "offered".
    if (!(held && held.mac === facts.mac && held.state === 'bound' && held.expiresAt > now)) {
      this.d.book.set(this.entry(loc, facts, ip, 'offered', now + OFFER_HOLD_MS));
    }
    const boot = facts.pxe || facts.ipxe ? await this.bootInfo(facts, loc, undefined) : undefined;
    return this.reply(p, facts, loc, { type: MessageType.Offer, serverId: loc.serverId, yiaddr: ip, scope: loc.scope, leaseSeconds: loc.scope.leaseSeconds, boot }, undefined, true);
  }

  private async request(p: DhcpPacket, facts: ClientFacts, loc: Located, now: number): Promise<Outgoing | undefined> {
    const sid = readIp(p.options, Opt.ServerId);
    const requested = readIp(p.options, Opt.RequestedIp);
    const { scope } = loc;
    let ip: number;
    if (sid !== undefined) {
      // SELECTING (§4.3.2): the client names the server it chose.
      if (!this.isOurs(sid, loc)) {
        const mine = this.d.book.byMac(scope.id, facts.mac);
        if (mine && mine.state === 'offered') mine.expiresAt = now; // it went elsewhere: free our offer
        return undefined;
      }
      const want = requested ?? p.ciaddr;
      if (want === 0) return undefined;
      ip = want;
    } else if (requested !== undefined && p.ciaddr === 0) {
      ip = requested; // INIT-REBOOT
    } else if (p.ciaddr !== 0) {
      ip = p.ciaddr; // RENEWING (unicast) or REBINDING (broadcast)
    } else {
      return undefined;
    }
    if (!cidrContains(scope.cidr, ip)) return this.nak(p, facts, loc, 'wrong network');
    if (!this.d.book.usableBy(scope, ip, facts.mac, now)) { this.dropNaked(loc, facts, ip, now); return this.nak(p, facts, loc, 'address not available'); }
    const reserved = scope.reservedByMac.get(facts.mac);
    if (reserved !== undefined && reserved !== ip && !this.d.book.reservationWaits(scope, facts.mac, now)) {
      this.dropNaked(loc, facts, ip, now);
      return this.nak(p, facts, loc, 'this machine has a fixed address');
    }
    const e = this.entry(loc, facts, ip, 'bound', now + scope.leaseSeconds * 1000);
    const prev = this.d.book.set(e);
    if (prev && prev.state === 'bound' && prev.expiresAt > now) {
      prev.state = 'released';
      prev.expiresAt = now;
      this.d.committer.write(leaseRow(prev));
    }
    const ok = await this.d.committer.commit(leaseRow(e));
    if (!ok) return undefined;
    const boot = facts.pxe || facts.ipxe ? await this.bootInfo(facts, loc, ip) : undefined;
    return this.reply(p, facts, loc, { type: MessageType.Ack, serverId: loc.serverId, yiaddr: ip, scope, leaseSeconds: scope.leaseSeconds, boot });
  }

  /**
   * RFC 2131 §4.4.4 (a client that gets a NAK starts over without the address): the client's
   * own lease on an address it may no longer have (outside a shrunk pool, now another's fixed
   * address) ends with the NAK, so that address is not held for a client that left it.
   */
  private dropNaked(loc: Located, facts: ClientFacts, ip: number, now: number): void {
    const cur = this.d.book.byIp(loc.scope.id, ip);
    if (!cur || cur.mac !== facts.mac || cur.state !== 'bound' || cur.expiresAt <= now) return;
    cur.state = 'released';
    cur.expiresAt = now;
    this.d.committer.write(leaseRow(cur));
  }

  private nak(p: DhcpPacket, facts: ClientFacts, loc: Located, message: string): Outgoing | undefined {
    return this.reply(p, facts, loc, { type: MessageType.Nak, serverId: loc.serverId, message });
  }

  private decline(p: DhcpPacket, facts: ClientFacts, loc: Located, now: number): void {
    const ip = readIp(p.options, Opt.RequestedIp);
    const sid = readIp(p.options, Opt.ServerId);
    if (ip === undefined || (sid !== undefined && !this.isOurs(sid, loc))) return;
    const cur = this.d.book.byIp(loc.scope.id, ip);
    if (!cur || cur.mac !== facts.mac) return; // only the holder can decline its address
    this.recordEvent('dhcp.decline', facts, loc, p, ip);
    const e = this.entry(loc, facts, ip, 'declined', now + DECLINE_QUARANTINE_MS);
    this.d.book.set(e);
    this.d.committer.write(leaseRow(e));
    this.d.log.warn({ mac: facts.mac, ip: ipv4ToString(ip) }, 'dhcp: client declined an address (in use by someone else?); quarantined');
  }

  private release(p: DhcpPacket, facts: ClientFacts, loc: Located, now: number): void {
    const cur = this.d.book.byIp(loc.scope.id, p.ciaddr);
    if (!cur || cur.mac !== facts.mac || cur.state !== 'bound') return;
    cur.state = 'released';
    cur.expiresAt = now;
    this.d.committer.write(leaseRow(cur));
    this.recordEvent('dhcp.release', facts, loc, p, p.ciaddr);
  }

  private async inform(p: DhcpPacket, facts: ClientFacts, loc: Located): Promise<Outgoing | undefined> {
    if (p.ciaddr === 0) return undefined;
    const boot = await this.bootInfo(facts, loc, p.ciaddr);
    return this.reply(p, facts, loc, { type: MessageType.Ack, serverId: loc.serverId, scope: loc.scope, boot });
  }

  /** proxyDHCP on 67: answer PXE clients' DISCOVERs with boot information and no address. */
  private async proxyOffer(p: DhcpPacket, facts: ClientFacts, loc: Located, type: number): Promise<Outgoing | undefined> {
    if (type !== MessageType.Discover || (!facts.pxe && !facts.ipxe)) return undefined;
    const boot = facts.pxe || facts.ipxe ? await this.bootInfo(facts, loc, undefined) : undefined;
    // A proxy answer carries nothing but the boot file: with none for this firmware, stay silent.
    if (!boot || boot.file.bootfile === '') { this.recordEvent('dhcp.discover', facts, loc, p); return undefined; }
    return this.reply(p, facts, loc, { type: MessageType.Offer, serverId: loc.serverId, boot, proxy: true }, undefined, true);
  }

  /** Port 4011 (PXE spec §2.2.6): the client already has an address; answer to where it asked from. */
  private async proxyBootServer(p: DhcpPacket, facts: ClientFacts, loc: Located, meta: Incoming, type: number): Promise<Outgoing | undefined> {
    if ((type !== MessageType.Request && type !== MessageType.Inform) || (!facts.pxe && !facts.ipxe)) return undefined;
    const clientIp = p.ciaddr || parseFrom(meta.from.address);
    const boot = await this.bootInfo(facts, loc, clientIp);
    if (!boot || boot.file.bootfile === '') return undefined;
    const dest: Destination = p.giaddr !== 0
      ? replyDestination(p, MessageType.Ack, this.d.relayPort ?? SERVER_PORT)
      : { address: parseFrom(meta.from.address), port: meta.from.port, broadcast: false };
    return this.reply(p, facts, loc, { type: MessageType.Ack, serverId: loc.serverId, boot, proxy: true }, dest);
  }

  private isOurs(sid: number, loc: Located): boolean {
    return sid === loc.serverId || this.d.localAddresses().some((l) => l.address === sid);
  }

  private warnOnce(key: string, obj: Record<string, unknown>, msg: string): void {
    const now = this.now();
    if ((this.lastWarn.get(key) ?? 0) + 10_000 > now) return;
    if (this.lastWarn.size > 1000) this.lastWarn.clear();
    this.lastWarn.set(key, now);
    this.d.log.warn(obj, msg);
  }
}

/** Our first address that is not loopback, else any. */
function fallbackAddress(locals: LocalAddress[]): number | undefined {
  for (const l of locals) if ((l.address >>> 24) !== 127) return l.address;
  return locals[0]?.address;
}

function parseFrom(a: string): number {
  const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (!m) return 0;
  return ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
}

/** The database row of a book entry. */
export function leaseRow(e: LeaseEntry): LeaseWrite {
  return {
    subnetId: e.scopeId, ip: ipv4ToString(e.ip), mac: e.mac, clientId: e.clientId, hostname: e.hostname,
    state: e.state, expiresAt: e.expiresAt, relayCircuit: e.relayCircuit, relayRemote: e.relayRemote,
  };
}
