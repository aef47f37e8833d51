// DHCP's boot events. They are pushed at once to live listeners (the console's SSE) through
// the shared bus, but written by DHCP's own writer thread, inside the next lease transaction:
// written by the bus, each batch was a second writer on the packet thread that waited for the
// lease writer's lock (SQLite has one writer) and then paid its own fsync.
import type { Logger } from 'pino';
import type { BootEventInput, BootEventRecord, EventBus } from '../events.ts';
import type { DbWriter } from './db-writer.ts';

export class DhcpEventLog {
  private queue: BootEventRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  dropped = 0;
  /** Events handed to the writer (alone or with a lease batch), for /metrics: counted per batch, not per packet. */
  taken = 0;

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
    if (this.queue.length >= this.maxQueue) { this.dropped++; return; }
    this.queue.push(rec);
    if (this.queue.length >= 1000) void this.flush();
    else this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, this.flushMs);
  }

  /** The queued events, for the lease batch that is about to be written. */
  take(): BootEventRecord[] {
    if (this.queue.length === 0) return [];
    const q = this.queue;
    this.queue = [];
    this.taken += q.length;
    return q;
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
