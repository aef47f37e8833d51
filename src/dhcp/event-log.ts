// DHCP's boot events. They are pushed at once to live listeners (the console's SSE) through
// the shared bus, but written by DHCP's own writer: written by the bus, each batch was a second
// writer on the packet thread that waited for the lease writer's lock (SQLite has one writer)
// and then paid its own fsync.
//
// An ACK is stored in the row of the OFFER it follows (same MAC and xid: RFC 2131 §4.4.1, a
// client's REQUEST keeps its DISCOVER's xid) while that OFFER is still queued: one row for the
// exchange, with the offer's time in detail.offeredAt (and its address in detail.offeredIp
// when the ACK gives another). A row with its three B-tree inserts cost the packet thread a
// fifth of a registered PXE client's DORA (bench/dhcp/cpu.ts: 48-50 µs per DORA with both rows,
// 39 with the OFFER rows left out, a median of 44 with this join). An OFFER that no ACK of ours
// follows (the client took another server's, a NAK, proxyDHCP) keeps its own row; live
// listeners see both stages as they happen either way.
import type { Logger } from 'pino';
import type { BootEventInput, BootEventRecord, EventBus } from '../events.ts';
import type { DbWriter } from './db-writer.ts';

export class DhcpEventLog {
  private queue: BootEventRecord[] = [];
  /**
   * xid → index in `queue` of the latest OFFER of that exchange, which its ACK may still join.
   * By xid, not MAC: a number hashes for free, a MAC is a new string per packet; two clients
   * that picked the same xid keep the later offer joinable (the MAC is compared at the join).
   */
  private offers = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  dropped = 0;
  /** Events handed to the writer (alone or with a lease batch), for /metrics: counted per batch, not per packet. */
  taken = 0;
  /** ACKs stored in their OFFER's row. */
  joined = 0;

  constructor(
    private readonly bus: Pick<EventBus, 'emit'>,
    private readonly writer: DbWriter,
    private readonly log: Logger,
    /** Written alone after this long when no lease batch took them along. */
    private readonly flushMs = 100,
    /** A storm of DISCOVERs nobody answers must not grow the queue without bound. */
    private readonly maxQueue = 50_000,
  ) {}

  /** Takes `ev` over (callers build a fresh object per event): no copy per packet. */
  record(ev: BootEventInput): void {
    ev.at ??= Date.now();
    ev.detail ??= {};
    const rec = ev as BootEventRecord;
    this.bus.emit('boot', rec);
    const xid = rec.detail.xid;
    if (typeof xid === 'number' && rec.mac) {
      if (rec.stage === 'dhcp.ack' && this.join(xid, rec)) return;
      if (rec.stage === 'dhcp.offer' && this.queue.length < this.maxQueue) this.offers.set(xid, this.queue.length);
    }
    if (this.queue.length >= this.maxQueue) { this.dropped++; return; }
    this.queue.push(rec);
    if (this.queue.length >= 1000) void this.flush();
    else this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, this.flushMs);
  }

  /**
   * Replaces the queued OFFER of this exchange by one row for OFFER and ACK. A new object: the
   * OFFER's was handed to live listeners, which may still hold it.
   */
  private join(xid: number, ack: BootEventRecord): boolean {
    const i = this.offers.get(xid);
    if (i === undefined) return false;
    const offer = this.queue[i]!;
    if (offer.mac !== ack.mac) return false;
    this.offers.delete(xid);
    // Object.assign, not a spread: `{ ...a, ...b, c }` takes V8's slow path on Node 20 (~1.2 µs
    // per join against ~0.2).
    const detail: Record<string, unknown> = Object.assign({}, offer.detail, ack.detail);
    detail.offeredAt = offer.at;
    if (offer.ip !== ack.ip) detail.offeredIp = offer.ip;
    this.queue[i] = { stage: ack.stage, at: ack.at, mac: ack.mac, ip: ack.ip, branchId: ack.branchId, detail };
    this.joined++;
    return true;
  }

  /**
   * The queued events, all of them, or for a lease batch (`keepOpen`) all but the OFFERs whose
   * ACK may still come: the lease being committed is usually that ACK's. Those wait for the
   * next batch or the timer's flush, which takes everything.
   */
  take(keepOpen = false): BootEventRecord[] {
    const q = this.queue;
    if (q.length === 0) return [];
    this.queue = [];
    let out = q;
    if (keepOpen && this.offers.size > 0) {
      const open = new Set(this.offers.values());
      this.offers.clear();
      out = [];
      for (let i = 0; i < q.length; i++) {
        const e = q[i]!;
        if (!open.has(i)) { out.push(e); continue; }
        this.offers.set(e.detail.xid as number, this.queue.length);
        this.queue.push(e);
      }
    } else {
      this.offers.clear();
    }
    this.taken += out.length;
    return out;
  }

  flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.take();
    if (batch.length === 0) return this.writing;
    this.writing = this.writing.then(() => this.writer.events(batch)).catch((err: unknown) => {
      this.log.error({ err, lost: batch.length }, 'dhcp: could not record boot events');
    });
    return this.writing;
  }
}
