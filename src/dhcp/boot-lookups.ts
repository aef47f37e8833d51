// The rows the planner reads for a PXE client's first file (boot/resolve.ts), as DHCP answers
// them. In a boot storm every DISCOVER asks for its machine by MAC (and, unknown, by UUID) and
// for its branch: through the database that was three lookups per packet, ~34 µs of the packet
// thread's ~97 per PXE DORA (bench/dhcp/cpu.ts, BENCH_DHCP_CLIENTS=pxe, --cpu-prof); a point
// read on the read connection costs 13-21 µs here (its locks and page reads), and a lab's storm
// is its registered machines. So they are answered from what DHCP follows of the inventory: the
// MACs of the machines table (SightingRecorder), the registered machines' rows with their UUIDs,
// and the branches, re-read with the subnets (same TTL) and trusted only once a read begun after
// this process's last inventory change has finished.
//
// Which changes a refresh must not miss is not told by the rows' updated_at: an apply (another
// process) that registers machines in a long transaction during a storm commits rows older than
// the storm's newest, which a read "updated since the last one" never sees. Migration 0010's
// revision moves, in the same transaction, with every registration, delete, and change of what
// the planner reads of a machine (MAC, UUID, state, branch; action since 0011); when it moved,
// the MACs and registered rows are read in full. It is read first: a change that lands during the
// reads moves it again for the next refresh.
//
// Of a registered machine DHCP keeps only what resolveTarget reads (Registration: resolveTarget's
// type allows no more), as of that full read; the revision moves with each of those columns
// (test/unit/dhcp/boot-lookups.test.ts compares them with the trigger). A discovered machine, and
// a registered one claimed by UUID, are read from the database. What can be missed: a change by
// another process within the TTL, which until then boots as before, as that process's new pools
// reach DHCP within the same TTL. Through the sockets, a storm of registered PXE clients went
// from 0.90-1.01x Kea to 1.17-1.27x at 10,000 clients (bench/dhcp/RESULTS.md).
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import type { Branch } from '../db/schema.ts';
import type { Registration } from '../model/boot-queries.ts';
import { dbTargetLookups, type TargetLookups } from '../boot/resolve.ts';
import { listBranchRows, listRegistrations, machineRevision } from '../model/dhcp-scopes.ts';
import type { SightingRecorder } from './sightings.ts';

export class DhcpBootLookups implements TargetLookups<Registration> {
  private readonly fromDb: TargetLookups<Registration>;
  private branches = new Map<number, Branch>();
  /** What the planner reads of each registered machine, by MAC; and the UUIDs they carry. */
  private registered = new Map<string, Registration>();
  private uuids = new Set<string>();
  /** The machine revision the MACs and registered rows were last read in full at; NaN: never. */
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
    fromDb?: TargetLookups<Registration>,
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
   * Re-reads the branches (hundreds of rows), and the MACs and registered machines: in full when
   * the machine revision moved. One read at a time: an inventory change asks for one and so does
   * the subnet reload it causes, and two full reads side by side cost the packet thread twice (at
   * 60,000 registered machines one is 240-470 ms here; 140-240 when only their UUIDs were kept).
   * A call during a read shares it when no inventory change came since it began, and else gets
   * the one after it.
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
        if (full) {
          const rows = await listRegistrations(this.db);
          this.registered = new Map(rows.map((m) => [m.mac, m]));
          this.uuids = new Set(rows.flatMap((m) => (m.uuid === null ? [] : [m.uuid])));
        }
        this.branches = new Map((await listBranchRows(this.db)).map((b) => [b.id, b]));
        this.revision = revision;
        ok = true;
      } else {
        this.revision = Number.NaN;
      }
    } catch (err) {
      this.log.warn({ err }, 'dhcp: could not read the machine revision, branches or registered machines; the planner reads the database for now');
      this.revision = Number.NaN;
    }
    if (gen === this.generation) this.sure = ok;
  }

  machineByMac(mac: string): Promise<Registration | undefined> {
    if (this.sure) {
      const m = this.registered.get(mac);
      if (m !== undefined) return Promise.resolve(m);
      if (this.sightings.complete && !this.sightings.inTable(mac)) return Promise.resolve(undefined);
    }
    this.databaseReads++;
    return this.fromDb.machineByMac(mac);
  }

  machineByUuid(uuid: string): Promise<Registration | undefined> {
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
