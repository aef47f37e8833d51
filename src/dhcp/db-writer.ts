// DHCP's writes, either on a worker thread with its own connection (the server: fsync off the
// packet thread) or inline on the shared Kysely instance (tests, ':memory:' databases).
import { Worker } from 'node:worker_threads';
import type { Db } from '../db/index.ts';
import { writeLeases, type LeaseWrite } from '../model/leases.ts';
import { insertDiscoveredMachines, type NewSighting } from '../model/dhcp-scopes.ts';
import type { WorkerReply, WorkerRequest } from './db-worker.ts';

export interface DbWriter {
  leases(rows: LeaseWrite[]): Promise<void>;
  machines(rows: NewSighting[]): Promise<void>;
  close(): Promise<void>;
}

export function inlineWriter(db: Db): DbWriter {
  return { leases: (rows) => writeLeases(db, rows), machines: (rows) => insertDiscoveredMachines(db, rows), close: async () => {} };
}

type Job = { kind: 'leases'; rows: LeaseWrite[] } | { kind: 'machines'; rows: NewSighting[] };

export async function workerWriter(file: string, synchronous: 'FULL' | 'NORMAL' = 'FULL'): Promise<DbWriter> {
  // Under tsx the sources are .ts; the build rewrites imports but not this URL.
  const self = new URL(import.meta.url);
  const entry = new URL(self.pathname.endsWith('.ts') ? './db-worker.ts' : './db-worker.js', self);
  // Node 20 does not carry tsx's loader hooks into workers: register them in the worker first.
  const worker = entry.pathname.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`, { eval: true, workerData: { file, synchronous } })
    : new Worker(entry, { workerData: { file, synchronous } });
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let next = 1;
  let dead: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: WorkerReply) => { if ('ready' in m) { worker.off('error', reject); resolve(); } });
  });
  worker.on('message', (m: WorkerReply) => {
    if ('ready' in m) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(); else w.reject(new Error(m.error));
  });
  const fail = (err: Error) => {
    dead = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`database writer thread exited (${code})`)));
  const send = (job: Job) => new Promise<void>((resolve, reject) => {
    if (dead) { reject(dead); return; }
    const id = next++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, ...job } as WorkerRequest);
  });
  return {
    leases: (rows) => send({ kind: 'leases', rows }),
    machines: (rows) => send({ kind: 'machines', rows }),
    async close() {
      await worker.terminate();
    },
  };
}
