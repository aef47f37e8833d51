// DHCP's writes, three ways:
// - packet thread (leaseSync normal, the default): a second connection on this thread with
//   synchronous=NORMAL. A commit is a write() into the WAL, no fsync, so it survives kill -9
//   of the process (not power loss) and costs tens of microseconds: a thread hop per batch
//   cost more than the write. Checkpoints (which fsync) run on a worker thread.
// - writer thread (leaseSync full): the worker owns the connection and fsyncs every commit,
//   off the packet thread.
// - inline on the shared Kysely instance (tests, ':memory:' databases).
import type { Worker } from 'node:worker_threads';
import type { Db } from '../db/index.ts';
import { openDatabase } from '../db/index.ts';
import { writeLeases, type LeaseWrite } from '../model/leases.ts';
import { insertDiscoveredMachines, type NewSighting } from '../model/dhcp-scopes.ts';
import { insertBootEvents, type BootEventRecord } from '../model/events.ts';
import { errnoCode } from '../util/errors.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './db-worker.ts';
import { prepareDhcpWrites } from './write-statements.ts';
import { startSiblingWorker } from '../util/worker.ts';

export interface DbWriter {
  /**
   * Leases and the boot events queued meanwhile, in one transaction. Resolves with the indexes
   * of rows not written because their subnet is gone (deleted by another process meanwhile).
   */
  leases(rows: LeaseWrite[], events?: BootEventRecord[]): Promise<number[]>;
  events(rows: BootEventRecord[]): Promise<void>;
  machines(rows: NewSighting[]): Promise<void>;
  close(): Promise<void>;
  /** leases() takes the queued boot events into its transaction (else they go through events()). */
  bundlesEvents: boolean;
}

export function inlineWriter(db: Db): DbWriter {
  return {
    async leases(rows, events) {
      const skipped = await writeLeases(db, rows);
      if (events && events.length > 0) await insertBootEvents(db, events);
      return skipped;
    },
    events: (rows) => insertBootEvents(db, rows),
    machines: (rows) => insertDiscoveredMachines(db, rows),
    close: async () => {},
    bundlesEvents: true,
  };
}

/** How long the packet-thread writer retries while another connection holds the write lock. */
const BUSY_GIVE_UP_MS = 5000;

export async function packetThreadWriter(file: string, opts: { checkpointMs?: number } = {}): Promise<DbWriter> {
  const handle = openDatabase(file, { migrate: false });
  const s = handle.sqlite;
  s.pragma('synchronous = NORMAL');
  // SQLite's busy handler sleeps, and this is the thread that answers packets: fail at once
  // and retry from a timer instead (another connection on this thread may hold the lock).
  s.pragma('busy_timeout = 0');
  // A checkpoint fsyncs: the checkpointer thread does them, never a commit here.
  s.pragma('wal_autocheckpoint = 0');
  const w = prepareDhcpWrites(s);
  const checkpointer = await startWorker({ file, role: 'checkpointer', ...(opts.checkpointMs !== undefined && { checkpointMs: opts.checkpointMs }) });
  const attempt = async <T>(write: () => T): Promise<T> => {
    const giveUp = Date.now() + BUSY_GIVE_UP_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      try { return write(); } catch (err) {
        if (errnoCode(err) !== 'SQLITE_BUSY' || Date.now() > giveUp) throw err;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  };
  return {
    leases: (rows, events = []) => attempt(() => w.leases(rows, events)),
    events: (rows) => inSlices(rows, (part) => attempt(() => w.events(part))),
    machines: (rows) => inSlices(rows, (part) => attempt(() => { w.machines(part); })),
    // Events in transactions of their own, a thousand at a time: about a third cheaper per row
    // than a few dozen in each lease batch (each index page is written once per batch). Writing
    // them on the checkpointer thread instead measured slower: two writers wait for each other.
    bundlesEvents: false,
    async close() {
      await checkpointer.terminate();
      try { s.pragma('wal_checkpoint(PASSIVE)'); } catch { /* another connection is busy: it checkpoints later */ }
      await handle.close();
    },
  };
}

/**
 * Background rows (events, machines) in transactions of at most SLICE rows, letting the packets
 * that arrived meanwhile be answered in between: one 1000-row transaction held the packet
 * thread for about 10 ms, a stall every client in flight waited out.
 */
const SLICE = 250;
async function inSlices<T>(rows: T[], write: (part: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < rows.length; i += SLICE) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    await write(rows.slice(i, i + SLICE));
  }
}

type Job = { kind: 'leases'; rows: LeaseWrite[]; events: BootEventRecord[] } | { kind: 'events'; rows: BootEventRecord[] } | { kind: 'machines'; rows: NewSighting[] };

export async function workerWriter(file: string, synchronous: 'FULL' | 'NORMAL' = 'FULL'): Promise<DbWriter> {
  const worker = await startWorker({ file, role: 'writer', synchronous });
  const send = talkTo(worker);
  return {
    leases: (rows, events = []) => send({ kind: 'leases', rows, events }),
    events: async (rows) => { await send({ kind: 'events', rows }); },
    machines: async (rows) => { await send({ kind: 'machines', rows }); },
    bundlesEvents: true,
    async close() {
      await worker.terminate();
    },
  };
}

/** Request/reply over a worker's port: each job resolves when the worker has written it. */
function talkTo(worker: Worker): (job: Job) => Promise<number[]> {
  const waiting = new Map<number, { resolve: (skipped: number[]) => void; reject: (e: Error) => void }>();
  let next = 1;
  let dead: Error | undefined;
  worker.on('message', (m: WorkerReply) => {
    if ('ready' in m) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.skipped ?? []); else w.reject(new Error(m.error));
  });
  const fail = (err: Error) => {
    dead = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`database writer thread exited (${code})`)));
  return (job: Job) => new Promise<number[]>((resolve, reject) => {
    if (dead) { reject(dead); return; }
    const id = next++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, ...job } as WorkerRequest);
  });
}

async function startWorker(data: WorkerData): Promise<Worker> {
  const worker = startSiblingWorker(import.meta.url, 'db-worker', { workerData: data });
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: WorkerReply) => { if ('ready' in m) { worker.off('error', reject); resolve(); } });
  });
  return worker;
}
