// A fixed pool of chunk workers and a fixed set of shared block buffers ("slots"). The reader
// fills a slot, the workers scan it for candidate cuts and then store the chunks that end in
// it, all in place. An import holds at most `slots` blocks, which bounds its memory however
// large the image is: the reader waits for a free slot.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../util/worker.ts';
import type { ChunkDone, ChunkJob, ChunkWorkerInit, SharedSlot } from './chunk-worker.ts';

export interface ChunkResult {
  id: Buffer;
  stored: number;
  isNew: boolean;
}

export interface PoolOptions {
  /** New stream bytes per block (default 2 MiB). */
  blockSize?: number;
  /** Block buffers (default 4 per worker, at least 3). */
  slots?: number;
}

/**
 * Chunks per message at most. At 8, a worker spent 80 ms of its 1.9 s import of a 470 MB
 * squashfs in postMessage (CPU profile: the copy of the answers and the wakeup of the main
 * thread, a system call, dear under this VM's hypervisor). 32 took that import from 1.93-2.04 s
 * to 1.79-1.85 s (3 pairs); 64 and 128 were no faster.
 */
const BATCH = 32;
/**
 * Batches a worker may hold at once. With one, a worker that finished its batch sat idle until
 * the main thread got the CPU back to read its answer and send the next: 10-25 % of each worker's
 * time in an import's steady state (CPU profile, 470 MB squashfs on two cores). With a second
 * batch already queued in its port, it goes straight on.
 */
const DEPTH = 2;
/** How long close() waits for workers still in a batch before it stops them anyway. */
const CLOSE_WAIT_MS = 10_000;

function poolSize(workers: number): number {
  return workers > 0 ? workers : Math.max(1, os.availableParallelism());
}

type Pending = { resolve: (r: ChunkDone) => void; reject: (e: Error) => void };

export class ChunkPool {
  private workers: Worker[] = [];
  /** Batches sent to each worker (same order as workers) and not yet answered. */
  private load: number[] = [];
  private scans: ChunkJob[] = [];
  private stores: ChunkJob[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | undefined;
  private flushQueued = false;
  private freeSlots: number[] = [];
  private slotWaiters: ((slot: number) => void)[] = [];
  private allIdle: (() => void)[] = [];
  private closing: Promise<void> | undefined;
  readonly size: number;
  readonly blockSize: number;
  /** Bytes of the previous block each block starts with: a chunk lies wholly in the block where it ends. */
  readonly overlap: number;
  readonly views: Uint8Array[] = [];
  readonly bits: Uint32Array[] = [];

  /** `maxChunk` is the largest chunk that will be stored. */
  constructor(root: string, level: number, workers: number, maxChunk: number, opts: PoolOptions = {}) {
    this.size = poolSize(workers);
    this.blockSize = opts.blockSize ?? 2 * 1024 * 1024;
    this.overlap = maxChunk;
    const n = Math.max(3, opts.slots ?? this.size * 4);
    const slots: SharedSlot[] = [];
    const cap = this.overlap + this.blockSize;
    for (let i = 0; i < n; i++) {
      const s = { buf: new SharedArrayBuffer(cap), bits: new SharedArrayBuffer((Math.floor(cap / 32) + 1) * 4) };
      slots.push(s);
      this.views.push(new Uint8Array(s.buf));
      this.bits.push(new Uint32Array(s.bits));
      this.freeSlots.push(i);
    }
    for (let i = 0; i < this.size; i++) {
      const init: ChunkWorkerInit = { root, level, slots };
      const w = startSiblingWorker(import.meta.url, 'chunk-worker', { workerData: init });
      w.on('message', (m: ChunkDone[]) => this.onDone(i, m));
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
      this.load.push(0);
    }
  }

  /** Fails every job in flight and every waiter: after a failed import nothing more will be read. */
  abort(e: Error): void {
    this.fail(e);
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.scans = [];
    this.stores = [];
    for (const w of this.slotWaiters.splice(0)) w(-1);
  }

  private onDone(worker: number, batch: ChunkDone[]): void {
    this.load[worker]!--;
    for (const m of batch) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) continue;
      if (m.error !== undefined) p.reject(Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code }));
      else p.resolve(m);
    }
    this.flush();
    if (this.busy() === 0) for (const r of this.allIdle.splice(0)) r();
  }

  /** Batches in flight over all workers. */
  private busy(): number {
    let n = 0;
    for (const l of this.load) n += l;
    return n;
  }

  /**
   * Hands queued jobs to the least loaded workers, up to DEPTH batches each: a scan alone (the
   * cut finder waits for it, so it goes where the queue is shortest), stores several per message.
   */
  private flush(): void {
    this.flushQueued = false;
    while (this.scans.length || this.stores.length) {
      let w = -1;
      let room = 0;
      for (let i = 0; i < this.load.length; i++) {
        if (this.load[i]! >= DEPTH) continue;
        room += DEPTH - this.load[i]!;
        if (w < 0 || this.load[i]! < this.load[w]!) w = i;
      }
      if (w < 0) return;
      const jobs = this.scans.length ? this.scans.splice(0, 1) : this.stores.splice(0, Math.min(BATCH, Math.ceil(this.stores.length / room)));
      this.load[w]!++;
      this.workers[w]!.postMessage(jobs);
    }
  }

  private submit(job: ChunkJob, queue: ChunkJob[]): Promise<ChunkDone> {
    if (this.failed) return Promise.reject(this.failed);
    const done = new Promise<ChunkDone>((resolve, reject) => this.pending.set(job.id, { resolve, reject }));
    queue.push(job);
    // Jobs queued in one turn go out together (a block's chunks are submitted in one go).
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return done;
  }

  /** Marks candidate cuts for positions [from, to] of a slot (boundary-scan.ts). */
  async scan(slot: number, from: number, to: number, d: number): Promise<void> {
    await this.submit({ kind: 'scan', id: this.nextId++, slot, from, to, d }, this.scans);
  }

  /** Stores the chunk at [off, off + length) of a slot; the slot must not change until this settles. */
  async store(slot: number, off: number, length: number): Promise<ChunkResult> {
    const m = await this.submit({ kind: 'store', id: this.nextId++, slot, off, length }, this.stores);
    if (!m.chunkId) throw new Error('chunk worker returned no id');
    return { id: Buffer.from(m.chunkId), stored: m.stored ?? 0, isNew: m.isNew ?? false };
  }

  /** A free block buffer (waits for one: the reader's backpressure). */
  async acquireSlot(): Promise<number> {
    if (this.failed) throw this.failed;
    const s = this.freeSlots.pop() ?? await new Promise<number>((r) => this.slotWaiters.push(r));
    if (this.failed) throw this.failed;
    return s;
  }

  releaseSlot(slot: number): void {
    const w = this.slotWaiters.shift();
    if (w) w(slot);
    else this.freeSlots.push(slot);
  }

  /** Stops the workers (once; later calls wait for the same). */
  close(): Promise<void> {
    return this.closing ??= this.stop();
  }

  private async stop(): Promise<void> {
    // After a failure, workers may still be in a batch: stopped between writing a chunk's temp
    // file and renaming it, a worker left the temp behind (a failed import on a full disk kept
    // its space taken until gc). Wait for the batches (milliseconds), or a crashed worker's timeout.
    if (this.busy() > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.allIdle.push(r)),
        new Promise<void>((r) => { timer = setTimeout(r, CLOSE_WAIT_MS); }),
      ]);
      clearTimeout(timer);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
