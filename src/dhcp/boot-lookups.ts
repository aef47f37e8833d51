// The rows the planner reads for a PXE client's first file (boot/resolve.ts), as DHCP answers
// them. In a boot storm nearly every DISCOVER comes from a MAC the machines table does not have
// yet, carrying a UUID no registered machine has: through the database that was three lookups
// per packet (machine by MAC, by UUID, the branch), ~34 µs of the packet thread's ~97 per PXE
// DORA (bench/dhcp/cpu.ts, BENCH_DHCP_CLIENTS=pxe, --cpu-prof). Here those misses are answered
// from what DHCP already follows: the MACs of the machines table (SightingRecorder), the UUIDs
// of registered machines and the branches, re-read with the subnets (same TTL) and trusted only
// once a read begun after this process's last inventory change has finished.
//
// Which changes a refresh must not miss is not told by the rows' updated_at: an apply (another
// process) that registers machines in a long transaction during a storm commits rows older than
// the storm's newest, which a read "updated since the last one" never sees. Migration 0010's
// revision moves, in the same transaction, with every change of a registered machine, a MAC, a
// branch or a UUID; when it moved, the MACs and UUIDs are read in full. It is read first: a
// change that lands during the reads moves it again for the next refresh.
//
// A MAC or UUID that may be in the table still goes to the database, so every machine found is
// the row as it is now. What can be missed: a machine registered by another process within the
// TTL, which until then boots as unknown in the branch it booted in, as that process's new pools
// reach DHCP within the same TTL.
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import type { Branch, Machine } from '../db/schema.ts';
import { dbTargetLookups, type TargetLookups } from '../boot/resolve.ts';
import { listBranchRows, listRegisteredUuids, machineRevision } from '../model/dhcp-scopes.ts';
import type { SightingRecorder } from './sightings.ts';

export class DhcpBootLookups implements TargetLookups {
  private readonly fromDb: TargetLookups;
  private branches = new Map<number, Branch>();
  private uuids = new Set<string>();
  /** The machine revision the MACs and UUIDs were last read in full at; NaN: never. */
  private revision = Number.NaN;
  /** Bumped by every inventory change: a read that began before one cannot be trusted. */
  private generation = 0;
  private sure = false;
  /** Lookups the database answered: an answer that cost none is not worth keeping (handler.ts, the first-file memo). */
  databaseReads = 0;

  constructor(
    private readonly db: Db,
    private readonly sightings: Pick<SightingRecorder, 'refresh' | 'inTable' | 'complete'>,
    private readonly log: Pick<Logger, 'warn'>,
    fromDb?: TargetLookups,
  ) {
    this.fromDb = fromDb ?? dbTargetLookups(db);
  }

  /** This process changed the inventory: the database answers until the next refresh is done. */
  invalidate(): void {
    this.generation++;
    this.sure = false;
  }

  private reading: { done: Promise<void>; generation: number } | undefined;
  private next: Promise<void> | undefined;

  /**
   * Re-reads the branches (hundreds of rows), and the MACs and registered UUIDs: in full when the
   * machine revision moved. One read at a time: an inventory change asks for one and so does the
   * subnet reload it causes, and two full reads side by side cost the packet thread twice (at
   * 60,000 machines one is 66-120 ms). A call during a read shares it when no inventory change
   * came since it began, and else gets the one after it.
   */
  refresh(): Promise<void> {
    const cur = this.reading;
    if (cur) {
      if (cur.generation === this.generation) return cur.done;
      this.next ??= cur.done.then(() => { this.next = undefined; return this.refresh(); });
      return this.next;
    }
    const done = this.read().finally(() => { if (this.reading?.done === done) this.reading = undefined; });
    this.reading = { done, generation: this.generation };
    return done;
  }

  private async read(): Promise<void> {
    const gen = this.generation;
    let ok = false;
    try {
      const revision = await machineRevision(this.db);
      const full = revision !== this.revision;
      if (await this.sightings.refresh(full)) {
        if (full) this.uuids = new Set(await listRegisteredUuids(this.db));
        this.branches = new Map((await listBranchRows(this.db)).map((b) => [b.id, b]));
        this.revision = revision;
        ok = true;
      } else {
        this.revision = Number.NaN;
      }
    } catch (err) {
      this.log.warn({ err }, 'dhcp: could not read the machine revision, branches or registered UUIDs; the planner reads the database for now');
      this.revision = Number.NaN;
    }
    if (gen === this.generation) this.sure = ok;
  }

  machineByMac(mac: string): Promise<Machine | undefined> {
    if (this.sure && this.sightings.complete && !this.sightings.inTable(mac)) return Promise.resolve(undefined);
    this.databaseReads++;
    return this.fromDb.machineByMac(mac);
  }

  machineByUuid(uuid: string): Promise<Machine | undefined> {
    if (this.sure && !this.uuids.has(uuid)) return Promise.resolve(undefined);
    this.databaseReads++;
    return this.fromDb.machineByUuid(uuid);
  }

  branch(id: number): Promise<Branch | undefined> {
    const b = this.sure ? this.branches.get(id) : undefined;
    if (b !== undefined) return Promise.resolve(b);
    this.databaseReads++;
    return this.fromDb.branch(id);
  }

  // Asked only for a registered machine booting outside its branch: rare, so the database answers.
  hasSubnets(branchId: number): Promise<boolean> {
    this.databaseReads++;
    return this.fromDb.hasSubnets(branchId);
  }

  // DHCP always names the subnet's branch, so the planner never asks this of it.
  branchIdForIp(ip: string): Promise<number | undefined> {
    this.databaseReads++;
    return this.fromDb.branchIdForIp(ip);
  }
}
