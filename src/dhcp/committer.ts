// Group commit for leases: every write that arrives while one transaction is being committed
// goes into the next one, so 64 clients in flight cost one fsync, not 64. A caller awaits
// commit() and sends its ACK only after the row is on disk (RFC 2131 §4.3.2: the binding
// must survive a restart).
import type { Logger } from 'pino';
import type { LeaseWrite } from '../model/leases.ts';
import type { DbWriter } from './db-writer.ts';
import type { DhcpEventLog } from './event-log.ts';

interface Pending { row: LeaseWrite; done: (ok: boolean) => void }

export class LeaseCommitter {
  private queue: Pending[] = [];
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  batches = 0;
  rows = 0;

  constructor(private readonly writer: DbWriter, private readonly log: Logger, private readonly events?: DhcpEventLog, private readonly maxBatch = 1000) {}

  /**
   * Resolves true once the row is committed, false if the write failed or its subnet is gone
   * (deleted by an apply in another process before our snapshot noticed): the caller stays
   * silent, since no row would back that ACK and a restart would not know the lease.
   */
  commit(row: LeaseWrite): Promise<boolean> {
    return new Promise((done) => {
      this.queue.push({ row, done });
      if (!this.running) {
        this.running = true;
        // setImmediate: let the packets already read in this loop turn join the same batch.
        this.idle = new Promise((res) => setImmediate(() => void this.drain().then(res)));
      }
    });
  }

  /** Writes without waiting (RELEASE, DECLINE: nothing is promised to the client). */
  write(row: LeaseWrite): void {
    void this.commit(row);
  }

  flushed(): Promise<void> {
    return this.idle;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      // Two writes for one address in a batch: the later decision wins.
      const byKey = new Map<string, LeaseWrite>();
      for (const p of batch) byKey.set(keyOf(p.row), p.row);
      const rows = [...byKey.values()];
      let ok = true;
      let gone: Set<string> | undefined;
      try {
        const skipped = await this.writer.leases(rows, this.writer.bundlesEvents ? this.events?.take(true) ?? [] : []);
        this.batches++;
        this.rows += rows.length - skipped.length;
        if (skipped.length > 0) {
          gone = new Set(skipped.map((i) => keyOf(rows[i]!)));
          this.log.debug({ rows: skipped.length }, 'dhcp: leases of a deleted subnet not written; those clients get no ACK');
        }
      } catch (err) {
        ok = false;
        this.log.error({ err, rows: byKey.size }, 'dhcp: lease commit failed; those clients get no ACK');
      }
      for (const p of batch) p.done(ok && !gone?.has(keyOf(p.row)));
    }
    this.running = false;
  }
}

function keyOf(r: LeaseWrite): string {
  return `${r.subnetId}/${r.ip}`;
}
