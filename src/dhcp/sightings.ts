// Unknown MACs become "discovered" machines. A DHCP storm must not become one write per
// packet: known MACs are remembered, new ones are queued and written together twice a second,
// and the queue is bounded (a flood of random MACs loses sightings, never the server).
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import { listKnownMacs, listMacsUpdatedSince, machinesSignature, type NewSighting } from '../model/dhcp-scopes.ts';
import type { DbWriter } from './db-writer.ts';

/**
 * Sightings waiting for the next write, field by field. Not the NewSighting objects themselves:
 * held for up to flushMs, thousands of them outlived the young generation, and V8 then revised
 * the allocation site of the object literal in the packet path that builds them, which threw that
 * optimised code away once per boot storm ("code dependencies" on handleInner; gone when no
 * sighting was kept, --trace-deopt, 2 runs each). Copied here, the literal dies young.
 */
class PendingSightings {
  readonly macs = new Set<string>();
  private branchIds: Array<number | null> = [];
  private archs: Array<number | undefined> = [];
  private texts: Array<string | undefined> = [];

  add(s: NewSighting): void {
    this.macs.add(s.mac);
    this.branchIds.push(s.branchId);
    this.archs.push(s.arch);
    this.texts.push(s.firmware, s.uuid, s.relayCircuit, s.relayRemote);
  }

  /** The sightings in the order they came, and empty again. */
  take(): NewSighting[] {
    const out: NewSighting[] = [];
    let i = 0;
    for (const mac of this.macs) {
      const t = i * 4;
      out.push({ mac, branchId: this.branchIds[i]!, arch: this.archs[i], firmware: this.texts[t], uuid: this.texts[t + 1], relayCircuit: this.texts[t + 2], relayRemote: this.texts[t + 3] });
      i++;
    }
    this.macs.clear();
    this.branchIds = [];
    this.archs = [];
    this.texts = [];
    return out;
  }
}

export class SightingRecorder {
  private known = new Set<string>();
  private queue = new PendingSightings();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  dropped = 0;

  constructor(private readonly db: Db, private readonly writer: DbWriter, private readonly log: Logger, private readonly opts = { flushMs: 500, maxQueue: 10_000, maxKnown: 200_000 }) {}

  /**
   * The newest updated_at read so far; NaN until the first read. A double from the start: a field
   * that holds a small integer first and a millisecond time later changes the object's layout
   * under the optimised packet path (V8 field generalisation), which threw that code away at the
   * first reload in the middle of a boot storm (--trace-generalization, --trace-deopt).
   */
  private updatedAt = Number.NaN;

  /**
   * Whether `known` holds every MAC of the machines table as of the last refresh (plus those
   * written since): false until the first read, after a failed one, and after the cap emptied it.
   */
  complete = false;

  /**
   * Follows the machines table: nothing tells this process about an apply (another process) or
   * the API, and a MAC whose machine was pruned stayed "known", so it never became a discovered
   * machine again. Called with every subnet reload. `full`: read every MAC whatever the table's
   * count and latest update say (boot-lookups.ts, when the machine revision moved). False when the
   * table could not be read.
   */
  async refresh(full = false): Promise<boolean> {
    try {
      const sig = await machinesSignature(this.db);
      if (!full && sig.count === this.known.size && sig.updatedAt === this.updatedAt) return (this.complete = true);
      // Rows added or changed since the last read are what a boot storm brings (our own
      // discovered machines, every reload): read only those, not the whole table again (12,000
      // MACs re-read and a new Set built every 5 s while 10,000 desktops booted).
      if (!full && sig.updatedAt >= this.updatedAt) for (const mac of await listMacsUpdatedSince(this.db, this.updatedAt)) this.known.add(mac);
      // Still not the table: a row deleted, a MAC changed (the old one is still known), or a
      // sighting not written yet. Read it all.
      if (full || this.known.size !== sig.count) this.known = new Set(await listKnownMacs(this.db));
      this.updatedAt = sig.updatedAt;
      return (this.complete = true);
    } catch (err) {
      this.log.warn({ err }, 'dhcp: could not read known machines');
      return (this.complete = false);
    }
  }

  /** The machines table has (or this process has written) a row for `mac`; only meaningful when `complete`. */
  inTable(mac: string): boolean {
    return this.known.has(mac);
  }

  /** Known already or queued: the caller need not build a sighting (checked for every packet). */
  knows(mac: string): boolean {
    return this.known.has(mac) || this.queue.macs.has(mac);
  }

  saw(s: NewSighting): void {
    if (this.knows(s.mac)) return;
    if (this.queue.macs.size >= this.opts.maxQueue) { this.dropped++; return; }
    this.queue.add(s);
    // A thousand rows at a time at most: the writer may be the packet thread.
    if (this.queue.macs.size >= 1000) void this.flush();
    else this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush(); }, this.opts.flushMs);
  }

  flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.queue.take();
    if (batch.length === 0) return this.writing;
    if (this.known.size + batch.length > this.opts.maxKnown) { this.known.clear(); this.complete = false; }
    for (const s of batch) this.known.add(s.mac);
    this.writing = this.writing.then(() => this.writer.machines(batch)).catch((err: unknown) => {
      this.log.warn({ err, lost: batch.length }, 'dhcp: could not record discovered machines');
      for (const s of batch) this.known.delete(s.mac);
    });
    return this.writing;
  }
}
