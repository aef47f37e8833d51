// Worker thread with its own connection to the database. As the writer (leaseSync full) it does
// DHCP's writes, so SQLite's fsync blocks this thread, not the one that reads and answers
// packets. As the checkpointer (leaseSync normal, where the packet thread writes) it copies the
// WAL into the database file every few hundred ms: a checkpoint fsyncs, a commit then does not.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/index.ts';
import type { LeaseWrite } from '../model/leases.ts';
import type { NewSighting } from '../model/dhcp-scopes.ts';
import type { BootEventRecord } from '../model/events.ts';
import { prepareDhcpWrites } from './write-statements.ts';

export type WorkerRequest =
  | { id: number; kind: 'leases'; rows: LeaseWrite[]; events: BootEventRecord[] }
  | { id: number; kind: 'events'; rows: BootEventRecord[] }
  | { id: number; kind: 'machines'; rows: NewSighting[] };
export type WorkerReply = { id: number; ok: true; skipped?: number[] } | { id: number; ok: false; error: string } | { ready: true };
export interface WorkerData { file: string; role: 'writer' | 'checkpointer'; synchronous?: 'FULL' | 'NORMAL'; checkpointMs?: number }

const { file, role, checkpointMs, synchronous } = workerData as WorkerData;
/** 4096 pages of 4 KiB: 16 MiB of log. */
const WAL_RESTART_PAGES = 4096;
// The main connection has migrated already; this one only writes.
const handle = openDatabase(file, { migrate: false });
const port = parentPort!;
if (role === 'checkpointer') {
  // PASSIVE never takes the write lock: the packet thread's commits go on meanwhile. But under
  // steady load it never finds the log fully copied at the moment a commit starts, so the WAL
  // would only grow: past WAL_RESTART_PAGES a RESTART (what is left is little by then: a short
  // hold of the write lock, the packet thread retries) lets the next commit start it over.
  handle.sqlite.pragma('busy_timeout = 100');
  const timer = setInterval(() => {
    try {
      const [r] = handle.sqlite.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
      if (r && r.log > WAL_RESTART_PAGES) handle.sqlite.pragma('wal_checkpoint(RESTART)');
    } catch { /* busy or closing: next round */ }
  }, checkpointMs ?? 250);
  port.on('close', () => { clearInterval(timer); void handle.close(); });
} else {
  handle.sqlite.pragma(`synchronous = ${synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  const w = prepareDhcpWrites(handle.sqlite);
  port.on('message', (req: WorkerRequest) => {
    try {
      let skipped: number[] | undefined;
      if (req.kind === 'leases') skipped = w.leases(req.rows, req.events);
      else if (req.kind === 'events') w.events(req.rows);
      else w.machines(req.rows);
      port.postMessage({ id: req.id, ok: true, ...(skipped && skipped.length > 0 && { skipped }) } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
    }
  });
  port.on('close', () => void handle.close());
}
port.postMessage({ ready: true } satisfies WorkerReply);
