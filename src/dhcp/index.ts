// The DHCP service: sockets around the handler. One socket on dhcp.address:67 receives the
// broadcasts, and IP_PKTINFO tells it the address of the interface each came in on; when that
// is 0.0.0.0, one more socket per own address (same port, SO_REUSEADDR) receives unicasts
// (relays, RENEW) and sends broadcasts out of the right interface: Linux routes a limited
// broadcast by the source address of a bound socket. Port 4011 answers proxyDHCP boot-server
// requests.
import type { Logger } from 'pino';
import type { AppContext, Service, ServiceHealth } from '../service.ts';
import { listLeases, listOrphanLeases, pruneOrphanLeases } from '../model/leases.ts';
import { lastRestoreAt } from '../model/restores.ts';
import { attachReader } from '../model/read-conn.ts';
import { ipv4ToString, parseIpv4 } from '../util/net.ts';
import { LeaseCommitter } from './committer.ts';
import { DhcpHandler, leaseRow, type HandlerLimits, type Incoming, type LocalAddress } from './handler.ts';
import { LeaseBook } from './lease-book.ts';
import { poolStats, type PoolStats } from './pool-stats.ts';
import { cachedLocalAddresses } from './local-addresses.ts';
import { ScopeCache } from './scopes.ts';
import { SightingRecorder } from './sightings.ts';
import { DhcpBootLookups } from './boot-lookups.ts';
import { FirstFileMemo } from './first-file-memo.ts';
import { inlineWriter, packetThreadWriter, workerWriter } from './db-writer.ts';
import { DhcpEventLog } from './event-log.ts';
import { openUdp, warnIfDgram, type UdpSocket } from '../udp/socket.ts';

/**
 * How long serve trusts its subnet snapshot before re-reading it (ms): an apply in another
 * process, which nothing announces to serve, takes effect within this.
 */
export const SCOPE_TTL_MS = 5000;

export interface DhcpServiceOptions {
  /** Where relayed replies go (67 in real life; tests on loopback use another). */
  relayPort?: number;
  limits?: HandlerLimits;
  localAddresses?: () => LocalAddress[];
  /** How long a subnet snapshot is trusted before it is re-read (ms; default SCOPE_TTL_MS). */
  scopeTtlMs?: number;
  recvBufferSize?: number;
  /** Write through a connection of DHCP's own (default: when the database is a file): on a worker thread for leaseSync full, on the packet thread for normal. */
  writerThread?: boolean;
  /** SQLite synchronous mode of the lease writer (default: dhcp.leaseSync from the config). */
  leaseSynchronous?: 'FULL' | 'NORMAL';
  /** Record boot events (default true; the benchmark switches them off to show their cost). */
  bootEvents?: boolean;
  /** How often orphan lease rows (their subnet deleted) that expired are deleted, besides whenever a subnet is added (ms, default 1 h). */
  orphanPruneMs?: number;
  /** Benchmark variants of where writes happen (default: as leaseSync says). */
  writer?: 'packet-thread' | 'worker';
}

export interface DhcpService extends Service {
  /** The bound ports (useful when the config asked for 0). */
  ports(): { port: number; proxyPort: number };
  handler(): DhcpHandler | undefined;
  /** Each served subnet's pool use, from the lease book (empty while stopped). */
  pools(now: number): PoolStats[];
}

export interface BuiltHandler {
  handler: DhcpHandler;
  committer: LeaseCommitter;
  sightings: SightingRecorder;
  lookups: DhcpBootLookups;
  events: DhcpEventLog;
  scopes: ScopeCache;
  book: LeaseBook;
  /** Stops listening to inventory changes. */
  dispose(): void;
  /** dispose, wait for pending writes, end the writer thread. */
  close(): Promise<void>;
}

/** Everything but the sockets: subnets, leases loaded from the database, the handler. */
export async function buildDhcpHandler(ctx: AppContext, opts: DhcpServiceOptions = {}): Promise<BuiltHandler> {
  const log = ctx.log.child({ svc: 'dhcp' });
  const scopes = new ScopeCache(ctx.db, log, opts.scopeTtlMs ?? SCOPE_TTL_MS);
  const book = new LeaseBook();
  const shapes = new Map<number, string>();
  const ownConnection = (opts.writerThread ?? false) && ctx.config.database !== ':memory:';
  const sync = opts.leaseSynchronous ?? (ctx.config.dhcp.leaseSync === 'full' ? 'FULL' : 'NORMAL');
  const where = opts.writer ?? (sync === 'FULL' ? 'worker' : 'packet-thread');
  const writer = !ownConnection ? inlineWriter(ctx.db)
    : where === 'worker' ? await workerWriter(ctx.config.database, sync)
    : await packetThreadWriter(ctx.config.database);
  const events = new DhcpEventLog(ctx.events, writer, log);
  // Before the first load: a subnet adopts leases there, and they are written back at once.
  const committer = new LeaseCommitter(writer, log, events);
  // Set after the first load (sightings read the subnets' branches).
  const late: { lookups?: DhcpBootLookups } = {};
  /** Subnet id → created_at of the last snapshot (ids are reused after a delete). */
  let present = new Map<number, number>();
  let prunedAt = 0;
  scopes.onLoad(async (snap) => {
    await late.lookups?.refresh();
    for (const s of snap.scopes) {
      // Only a changed pool restarts the search for never-used addresses.
      const shape = JSON.stringify([s.ranges, s.excluded, [...s.reservedByIp.keys()]]);
      if (shapes.get(s.id) !== shape) { shapes.set(s.id, shape); book.scopeChanged(s.id); }
    }
    const ids = new Map(snap.scopes.map((s) => [s.id, s.createdAt]));
    // Added: new to this process (at start, all of them), or a new row under an old id (a
    // subnet deleted and inserted again within one TTL, as a branch pruned and re-added is).
    const added = snap.scopes.filter((s) => present.get(s.id) !== s.createdAt);
    const replaced = added.filter((s) => present.has(s.id)).map((s) => s.id);
    const gone = book.scopeIds().filter((id) => !ids.has(id));
    // Read first, then change the book in one synchronous step: a packet answered meanwhile
    // (from the previous snapshot) never sees a subnet's leases half moved.
    const load = added.filter((s) => !book.has(s.id) || replaced.includes(s.id)).map((s) => s.id);
    const [rows, orphans] = await Promise.all([
      listLeases(ctx.db, load),
      added.length > 0 ? listOrphanLeases(ctx.db, Date.now()) : Promise.resolve([]),
    ]);
    const now = Date.now();
    for (const id of [...gone, ...replaced]) book.retire(id, now);
    for (const id of load) book.load(id, rows.filter((r) => r.subnet_id === id));
    book.loadOrphans(orphans, now);
    present = ids;
    // Every subnet, not only the added ones: a subnet deleted inside a larger one that stays.
    const taken = book.orphanCount() === 0 ? [] : snap.scopes.flatMap((s) => {
      const got = book.adopt(s, now);
      if (got.length > 0) log.info({ subnet: s.cidr.text, leases: got.length }, 'dhcp: leases of a deleted subnet adopted; their clients keep their addresses');
      return got;
    });
    if (added.length === 0 && taken.length === 0 && now - prunedAt < (opts.orphanPruneMs ?? 3_600_000)) return;
    // Written under the subnet's id before this snapshot is served; then the orphan rows they
    // came from go, with those that expired or were never held (also hourly: a branch pruned
    // for good leaves rows that only expire).
    const ok = await Promise.all(taken.map((e) => committer.commit(leaseRow(e))));
    if (!ok.every(Boolean)) return;
    prunedAt = now;
    try {
      const pruned = await pruneOrphanLeases(ctx.db, Date.now());
      if (pruned > 0) log.debug({ rows: pruned }, 'dhcp: orphan lease rows pruned');
    } catch (err) {
      log.warn({ err }, 'dhcp: could not prune orphan lease rows; next time a subnet is added');
    }
  });
  book.restoredAt = await lastRestoreAt(ctx.db);
  await scopes.reload();
  warnIfRestored(book, scopes, log);
  const sightings = new SightingRecorder(ctx.db, writer, log);
  const lookups = new DhcpBootLookups(ctx.db, sightings, log);
  await lookups.refresh();
  late.lookups = lookups;
  const firstFiles = new FirstFileMemo(opts.scopeTtlMs ?? SCOPE_TTL_MS);
  const unsubscribe = ctx.events.on('inventory', () => { scopes.invalidate(); firstFiles.clear(); lookups.invalidate(); void lookups.refresh(); });
  // Re-read on the TTL without waiting for a packet: a subnet an apply (another process) deleted
  // and re-created adopts its clients' leases within seconds, not at its next client's packet.
  const tick = setInterval(() => void scopes.get(), opts.scopeTtlMs ?? SCOPE_TTL_MS);
  tick.unref();
  const dispose = () => { clearInterval(tick); unsubscribe(); };
  const handler = new DhcpHandler({
    log, events: opts.bootEvents === false ? { record: () => {} } : events, planner: ctx.planner, lookups, firstFiles, scopes, book, committer, sightings,
    localAddresses: opts.localAddresses ?? cachedLocalAddresses(), interfaces: ctx.config.dhcp.interfaces,
    ...(opts.relayPort !== undefined && { relayPort: opts.relayPort }),
    ...(opts.limits && { limits: opts.limits }),
  });
  return {
    handler, committer, sightings, lookups, events, scopes, book,
    dispose: () => { dispose(); },
    async close() { dispose(); await committer.flushed(); await events.flush(); await sightings.flush(); await writer.close(); },
  };
}

/** Says once at start how long new clients are kept clear of the leases a restore lost. */
function warnIfRestored(book: LeaseBook, scopes: ScopeCache, log: Logger): void {
  const now = Date.now();
  const inside = (scopes.fresh(now)?.scopes ?? []).filter((s) => book.inProbation(s, now));
  if (book.restoredAt === undefined || inside.length === 0) return;
  const until = Math.max(...inside.map((s) => book.restoredAt! + s.leaseSeconds * 1000));
  log.warn({ restoredAt: new Date(book.restoredAt).toISOString(), until: new Date(until).toISOString(), subnets: inside.length },
    'dhcp: the database was restored from a backup; leases handed out after it are unknown, so until their lease time has passed new clients get addresses from the top of each pool');
}

export function createDhcpService(ctx: AppContext, opts: DhcpServiceOptions = {}): DhcpService {
  const cfg = ctx.config.dhcp;
  const log = ctx.log.child({ svc: 'dhcp' });
  let state: ServiceHealth['state'] = cfg.enabled ? 'stopped' : 'disabled';
  let handler: DhcpHandler | undefined;
  let main: UdpSocket | undefined;
  let proxy: UdpSocket | undefined;
  const perAddress = new Map<number, UdpSocket>();
  let committer: LeaseCommitter | undefined;
  let built: BuiltHandler | undefined;
  let closeBuilt: (() => Promise<void>) | undefined;
  // The planner's lookups for PXE clients (model/boot-queries.ts) use the read connection's kept
  // statements; serve's HTTP routes attach it too, DHCP does not rely on them being enabled.
  let releaseReader: (() => void) | undefined;
  let bound = { port: 0, proxyPort: 0 };
  // Replies still being decided (a lease commit): stop() gives them a grace period.
  let inflight = 0;
  let drained: (() => void) | undefined;

  // A failed send is a lost packet, which the client retransmits anyway; a reply decided after
  // stop() closed the socket (a lease commit in flight) is dropped the same way.
  const listen = (sock: UdpSocket, meta: Omit<Incoming, 'from'>) => {
    sock.onMessage((msg, address, port, local) => {
      if (!handler) return;
      let localAddress = meta.localAddress;
      // The wildcard socket is told which of our addresses a datagram reached (IP_PKTINFO):
      // for a broadcast, the interface it came in on. It names the subnet of a client without
      // an address, and keeps us silent on interfaces we were not told to serve.
      if (local !== 0 && localAddress === undefined) {
        if (!servedHere(local)) return;
        localAddress = local;
      }
      inflight++;
      // A literal, not `{ ...meta, from }`: on Node 20 a spread followed by more properties
      // takes V8's slow path, ~1 µs per packet (a plain literal ~15 ns).
      const incoming: Incoming = { from: { address: ipv4ToString(address), port }, localAddress, proxyPort: meta.proxyPort };
      void handler.handle(msg, incoming).then((out) => {
        if (--inflight === 0) drained?.();
        if (!out) return;
        const via = meta.proxyPort ? sock : (out.via !== undefined && perAddress.get(out.via)) || sock;
        // Replies decided in the same loop turn (a lease batch's ACKs) leave in one system call.
        via.sendLater(out.dest.address, out.dest.port, out.buf);
      });
    });
  };

  /** dhcp.interfaces, when set, lists the only interfaces whose addresses answer. */
  let localAddresses: () => LocalAddress[] = () => [];
  const servedHere = (local: number): boolean => {
    if (cfg.interfaces.length === 0) return true;
    const own = localAddresses().find((l) => l.address === local);
    return own !== undefined && cfg.interfaces.includes(own.ifname);
  };

  // A client's message fits in one frame (RFC 2131 §2: 576 bytes unless option 57 says more):
  // 9216 bytes covers jumbo frames; a longer datagram is not DHCP and is dropped unread.
  const open = (address: string, port: number): Promise<UdpSocket> =>
    openUdp({ address, port, reuseAddr: true, broadcast: true, recvBuffer: opts.recvBufferSize ?? 4 << 20, maxPacket: 9216, batch: 16, pktinfo: address === '0.0.0.0' });

  return {
    name: 'dhcp',
    ports: () => bound,
    handler: () => handler,
    pools(now) {
      if (!built) return [];
      const { book, handler: h } = built;
      return built.scopes.current().scopes.map((s) => poolStats(s, book.entries(s.id), now, h.exhaustedBySubnet.get(s.id)));
    },
    async start() {
      if (!cfg.enabled) { state = 'disabled'; return; }
      state = 'starting';
      const udp = warnIfDgram(log, 'dhcp');
      localAddresses = opts.localAddresses ?? cachedLocalAddresses();
      releaseReader = attachReader(ctx.db, ctx.config.database);
      const b = await buildDhcpHandler(ctx, { writerThread: true, ...opts, localAddresses });
      ({ handler, committer } = b);
      built = b;
      closeBuilt = () => b.close();
      try {
        main = await open(cfg.address, cfg.port);
        bound.port = main.port;
        const specific = parseIpv4(cfg.address);
        // A socket bound to one address hears no broadcasts: such a server serves relays only.
        listen(main, { localAddress: cfg.address === '0.0.0.0' ? undefined : specific });
        if (cfg.address === '0.0.0.0') {
          for (const l of localAddresses()) {
            if (cfg.interfaces.length > 0 && !cfg.interfaces.includes(l.ifname)) continue;
            const s = await open(ipv4ToString(l.address), bound.port);
            perAddress.set(l.address, s);
            listen(s, { localAddress: l.address });
          }
        } else if (specific !== undefined) {
          perAddress.set(specific, main);
        }
        proxy = await open(cfg.address, cfg.proxyPort === cfg.port ? 0 : cfg.proxyPort);
        bound = { port: bound.port, proxyPort: proxy.port };
        listen(proxy, { proxyPort: true });
      } catch (err) {
        state = 'failed';
        await this.stop(0);
        state = 'failed';
        throw err;
      }
      log.info({ port: bound.port, proxyPort: bound.proxyPort, subnets: b.scopes.current().scopes.length, udp }, 'dhcp: listening');
      state = 'running';
    },
    async stop(graceMs: number) {
      if (state === 'disabled') return;
      state = 'stopping';
      for (const s of new Set([main, proxy, ...perAddress.values()])) s?.close();
      perAddress.clear();
      main = proxy = undefined;
      const grace = new Promise((r) => setTimeout(r, graceMs).unref());
      const idle = inflight === 0 ? Promise.resolve() : new Promise<void>((r) => { drained = r; });
      await Promise.race([idle, grace]);
      drained = undefined;
      await closeBuilt?.();
      closeBuilt = undefined;
      releaseReader?.();
      releaseReader = undefined;
      handler = undefined;
      built = undefined;
      state = 'stopped';
    },
    health(): ServiceHealth {
      if (state === 'disabled') return { state };
      return {
        state,
        listen: [`${cfg.address}:${bound.port}`, `${cfg.address}:${bound.proxyPort}`],
        detail: { ...handler?.counters, commits: committer?.batches, leaseRows: committer?.rows, bootEvents: built?.events.taken, bootEventsJoined: built?.events.joined, bootEventsDropped: built?.events.dropped },
      };
    },
  };
}
