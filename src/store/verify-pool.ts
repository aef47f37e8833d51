// One process-wide pool of chunk verify workers (verify-worker.ts), started on the first cold
// read. Readers keep many chunk loads in flight (nbdcopy: 4 connections × 64 requests; HTTP
// read-ahead), so decompression and hashing then run on every core instead of the event loop's.
// Workers are unref'd: an idle pool never keeps a process alive.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../util/worker.ts';
import type { VerifyDone, VerifyJob } from './verify-worker.ts';

export type VerifyFailure = NonNullable<VerifyDone['error']>;

export class VerifyError extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.message);
    this.name = 'VerifyError';
  }
}

interface Slot {
  worker: Worker;
  busy: number;
}

interface Pending {
  slot: Slot;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

export class VerifyPool {
  private slots: Slot[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;

  constructor(readonly size: number) {}

  private spawn(): Slot {
    const slot: Slot = { worker: startSiblingWorker(import.meta.url, 'verify-worker', { workerData: null }), busy: 0 };
    slot.worker.on('message', (m: VerifyDone) => this.onDone(m));
    slot.worker.on('error', (e) => this.onCrash(slot, e));
    // After the listeners: Node refs a worker again when its first 'message' listener is added,
    // and a worker that never got a job then kept the process from exiting.
    slot.worker.unref();
    return slot;
  }

  /** Busy workers keep the process alive (someone awaits them); idle ones do not. */
  private setBusy(slot: Slot, delta: number): void {
    slot.busy += delta;
    if (slot.busy === 1 && delta > 0) slot.worker.ref();
    else if (slot.busy === 0) slot.worker.unref();
  }

  /**
   * Verified uncompressed bytes of chunk `hex` stored in `file` (or, with keep 'frame', the
   * verified compressed file); `size` -1 when not known. Rejects with VerifyError.
   */
  load(file: string, hex: string, size: number, keep: VerifyJob['keep'] = 'data'): Promise<Buffer> {
    while (this.slots.length < this.size) this.slots.push(this.spawn());
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const job: VerifyJob = { seq: ++this.seq, file, hex, size, keep };
    this.setBusy(slot, 1);
    return new Promise((resolve, reject) => {
      this.pending.set(job.seq, { slot, resolve, reject });
      slot.worker.postMessage(job);
    });
  }

  private onDone(m: VerifyDone): void {
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    this.setBusy(p.slot, -1);
    if (m.error) p.reject(new VerifyError(m.error));
    else p.resolve(Buffer.from(m.data!, m.offset ?? 0, m.length ?? 0));
  }

  /** A worker that dies fails its own jobs (as I/O errors: the bytes are not known bad) and is replaced. */
  private onCrash(slot: Slot, e: Error): void {
    for (const [seq, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(seq);
      p.reject(new VerifyError({ kind: 'io', message: `verify worker failed: ${e.message}` }));
    }
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
  }
}

let shared: VerifyPool | undefined;

/** The process's pool: one worker per core (at least 2: the event loop thread keeps a core busy too). */
export function verifyPool(): VerifyPool {
  shared ??= new VerifyPool(Math.max(2, os.availableParallelism()));
  return shared;
}
