// DHCP's writes as prepared statements on one connection: lease batches (with the boot events
// queued meanwhile, in the same transaction), boot events alone, discovered machines. Used by
// the writer thread (leaseSync full) and by the packet thread itself (leaseSync normal).
import type BetterSqlite3 from 'better-sqlite3';
import { leaseUpsertSql, leaseParams, type LeaseWrite } from '../model/leases.ts';
import { discoveredMachineSql, discoveredMachineParams, type NewSighting } from '../model/dhcp-scopes.ts';
import { preparedBootEventInsert, type BootEventRecord } from '../model/events.ts';

export interface DhcpWrites {
  /** Returns the indexes of rows not written: their subnet is gone (see leaseUpsertSql). */
  leases(rows: LeaseWrite[], events: BootEventRecord[]): number[];
  events(rows: BootEventRecord[]): void;
  machines(rows: NewSighting[]): void;
}

export function prepareDhcpWrites(sqlite: BetterSqlite3.Database): DhcpWrites {
  const upsert = sqlite.prepare(leaseUpsertSql);
  const insertEvents = preparedBootEventInsert(sqlite);
  const insertMachine = sqlite.prepare(discoveredMachineSql);
  // BEGIN IMMEDIATE: when another connection holds the write lock, fail at once (SQLITE_BUSY)
  // rather than part-way; the packet thread then retries later instead of sleeping in SQLite.
  // Boot events ride in the lease transaction (better-sqlite3 nests theirs as a savepoint).
  const leases = sqlite.transaction((rows: LeaseWrite[], events: BootEventRecord[], now: number) => {
    const skipped: number[] = [];
    for (let i = 0; i < rows.length; i++) if (upsert.run(...leaseParams(rows[i]!, now)).changes === 0) skipped.push(i);
    if (events.length > 0) insertEvents(events);
    return skipped;
  });
  const machines = sqlite.transaction((rows: NewSighting[], now: number) => {
    for (const r of rows) insertMachine.run(...discoveredMachineParams(r, now));
  });
  const events = sqlite.transaction((rows: BootEventRecord[]) => { insertEvents(rows); });
  return {
    leases: (rows, evs) => leases.immediate(rows, evs, Date.now()),
    events: (rows) => events.immediate(rows),
    machines: (rows) => machines.immediate(rows, Date.now()),
  };
}
