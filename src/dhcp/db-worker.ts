// Worker thread that owns a second connection to the database and does DHCP's writes (lease
// batches, discovered machines). SQLite's fsync then blocks this thread, not the one that
// reads and answers packets: while one batch commits, the next one is already being decided.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/index.ts';
import { leaseUpsertSql, leaseParams, type LeaseWrite } from '../model/leases.ts';
import { discoveredMachineSql, discoveredMachineParams, type NewSighting } from '../model/dhcp-scopes.ts';

export type WorkerRequest =
  | { id: number; kind: 'leases'; rows: LeaseWrite[] }
  | { id: number; kind: 'machines'; rows: NewSighting[] };
export type WorkerReply = { id: number; ok: true } | { id: number; ok: false; error: string } | { ready: true };

const { file, synchronous } = workerData as { file: string; synchronous: 'FULL' | 'NORMAL' };
// The main connection has migrated already; this one only writes.
const handle = openDatabase(file, { migrate: false });
// FULL (the default): a commit is on disk before its ACK leaves, surviving power loss. NORMAL:
// it survives a crash or kill -9 of the process but not power loss (what Kea's memfile gives).
handle.sqlite.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
const port = parentPort!;
// Lease batches are the hot path (one per few ms under load): one prepared statement, one
// transaction, no query building per row.
const upsert = handle.sqlite.prepare(leaseUpsertSql);
const writeBatch = handle.sqlite.transaction((rows: LeaseWrite[], now: number) => {
  for (const r of rows) upsert.run(leaseParams(r, now));
});
// New machines come in bursts (a lab powering on): also one statement, so they never hold up a lease batch for long.
const insertMachine = handle.sqlite.prepare(discoveredMachineSql);
const writeMachines = handle.sqlite.transaction((rows: NewSighting[], now: number) => {
  for (const r of rows) insertMachine.run(discoveredMachineParams(r, now));
});
port.on('message', (req: WorkerRequest) => {
  const job = req.kind === 'leases'
    ? new Promise<void>((resolve) => { writeBatch(req.rows, Date.now()); resolve(); })
    : new Promise<void>((resolve) => { writeMachines(req.rows, Date.now()); resolve(); });
  job.then(
    () => port.postMessage({ id: req.id, ok: true } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
port.on('close', () => void handle.close());
port.postMessage({ ready: true } satisfies WorkerReply);
