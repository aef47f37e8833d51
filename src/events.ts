// Boot events: every step a client takes, written to the database in small batches (a DHCP
// storm must not become one fsync per packet) and pushed at once to live listeners (SSE).
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from './db/index.ts';
import { insertBootEvents, preparedBootEventInsert, type BootEventInput, type BootEventRecord } from './model/events.ts';

export type { BootEventInput, BootEventRecord };

/** Far above the flush interval and a slow batch insert; far below a desktop's next boot. */
const RECENT_MAC_MS = 5_000;

export class EventBus {
  private readonly emitter = new EventEmitter();
  private queue: BootEventRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Events stored in the database since start (for /metrics). */
  written = 0;
  /**
   * The MAC each address last named in an event, for a few seconds: long enough to cover the
   * batch still queued or being written. A proxy-mode desktop is known by its address only from
   * its script request (GET /boot/MAC.ipxe), and iPXE asks for the kernel within milliseconds
   * of the script, before that event is in the database (macForIp).
   */
  private readonly recentMacs = new Map<string, { mac: string; at: number }>();

  private readonly insert: (events: BootEventRecord[]) => Promise<void>;

  /**
   * With `sqlite` (the handle under `db`), batches go through one prepared statement: building
   * each insert through Kysely cost a quarter of the DHCP packet thread under a power-on storm.
   */
  constructor(db: Db, private readonly log: Logger, private readonly flushMs = 100, sqlite?: BetterSqlite3.Database) {
    this.emitter.setMaxListeners(0);
    const prepared = sqlite ? preparedBootEventInsert(sqlite) : undefined;
    this.insert = prepared ? async (batch) => prepared(batch) : (batch) => insertBootEvents(db, batch);
  }

  /** Records a boot event; never throws and never blocks the protocol that calls it. */
  record(ev: BootEventInput): void {
    const rec: BootEventRecord = { ...ev, at: ev.at ?? Date.now(), detail: ev.detail ?? {} };
    this.queue.push(rec);
    if (rec.mac && rec.ip) this.rememberMac(rec.ip, rec.mac, rec.at);
    this.emitter.emit('boot', rec);
    if (this.queue.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** The MAC an event named for `ip` within the last few seconds (not yet in the database, perhaps). */
  readonly recentMacFor = (ip: string, now = Date.now()): string | undefined => {
    const e = this.recentMacs.get(ip);
    return e && now - e.at < RECENT_MAC_MS ? e.mac : undefined;
  };

  private rememberMac(ip: string, mac: string, at: number): void {
    if (this.recentMacs.size >= 4096) {
      for (const [k, e] of this.recentMacs) if (at - e.at >= RECENT_MAC_MS) this.recentMacs.delete(k);
    }
    // A storm of fresh addresses within the window: the database answers for the oldest.
    if (this.recentMacs.size >= 4096) this.recentMacs.delete(this.recentMacs.keys().next().value!);
    this.recentMacs.delete(ip);
    this.recentMacs.set(ip, { mac, at });
  }

  onBoot(listener: (ev: BootEventRecord) => void): () => void {
    this.emitter.on('boot', listener);
    return () => this.emitter.off('boot', listener);
  }

  /** Other live happenings (import progress, lease changes) for the console. */
  emit(topic: string, payload: unknown): void {
    this.emitter.emit(topic, payload);
  }

  on(topic: string, listener: (payload: unknown) => void): () => void {
    this.emitter.on(topic, listener);
    return () => this.emitter.off(topic, listener);
  }

  flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.insert(batch)).then(() => { this.written += batch.length; }, (err: unknown) => {
      this.log.error({ err, lost: batch.length }, 'could not record boot events');
    });
    return this.flushing;
  }
}
