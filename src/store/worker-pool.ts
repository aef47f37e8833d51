// A fixed pool of chunk workers with a bounded queue: `submit` waits when too many chunks are
// in flight, which bounds an import's memory however large the image is.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../util/worker.ts';
import type { ChunkDone, ChunkJob } from './chunk-worker.ts';

export interface ChunkResult {
  id: Buffer;
  stored: number;
  isNew: boolean;
}

const BATCH = 8;

export class ChunkPool {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: { job: ChunkJob; resolve: (r: ChunkResult) => void; reject: (e: Error) => void }[] = [];
  private pending = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private seq = 0;
  private failed: Error | undefined;
  private free: ArrayBuffer[] = [];
  readonly size: number;

  /** `bufSize` is the largest chunk that will be submitted. */
  constructor(root: string, level: number, workers: number, private readonly bufSize: number, private maxInFlight = 0) {
    this.size = workers > 0 ? workers : Math.max(1, os.availableParallelism());
    // Enough queued work that a worker never waits for the (descheduled) reader thread: 16 chunks per worker (buffers of the max chunk size: 8 MiB for 2 workers at 256 KiB).
    if (this.maxInFlight <= 0) this.maxInFlight = this.size * 16;
    for (let i = 0; i < this.size; i++) {
      const w = startSiblingWorker(import.meta.url, 'chunk-worker', { workerData: { root, level } });
      w.on('message', (m: ChunkDone[]) => this.onDone(w, m));
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiters.splice(0)) w();
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const q of this.queue) q.reject(e);
    this.queue = [];
  }

  private onDone(w: Worker, batch: ChunkDone[]): void {
    for (const m of batch) {
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      this.inFlight--;
      if (m.buf.byteLength === this.bufSize) this.free.push(m.buf);
      this.waiters.shift()?.();
      if (!p) continue;
      if (m.error !== undefined || !m.id) p.reject(new Error(m.error ?? 'chunk worker returned no id'));
      else p.resolve({ id: Buffer.from(m.id), stored: m.stored ?? 0, isNew: m.isNew ?? false });
    }
    this.idle.push(w);
    this.flush();
  }

  /** Hands queued chunks to idle workers, several per message. */
  flush(): void {
    while (this.queue.length && this.idle.length) {
      const w = this.idle.pop()!;
      // Split what is queued fairly across the idle workers, at most BATCH per message.
      const n = Math.min(BATCH, Math.ceil(this.queue.length / (this.idle.length + 1)));
      const items = this.queue.splice(0, n);
      for (const it of items) this.pending.set(it.job.seq, it);
      w.postMessage(items.map((it) => it.job), items.map((it) => it.job.buf));
    }
  }

  /** Resolves once fewer than maxInFlight chunks are in flight (backpressure for the reader); sends what is queued first. */
  async waitForRoom(): Promise<void> {
    this.flush();
    while (this.inFlight >= this.maxInFlight && !this.failed) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failed) throw this.failed;
  }

  /** Copies `data` (the caller may reuse it at once) into a pooled buffer and queues it; `done` resolves when it is stored. */
  enqueue(data: Uint8Array): { done: Promise<ChunkResult> } {
    if (this.failed) throw this.failed;
    if (data.length > this.bufSize) throw new Error(`chunk of ${data.length} bytes exceeds the pool's ${this.bufSize}`);
    this.inFlight++;
    const buf = this.free.pop() ?? new ArrayBuffer(this.bufSize);
    new Uint8Array(buf, 0, data.length).set(data);
    const job: ChunkJob = { seq: this.seq++, buf, length: data.length };
    const done = new Promise<ChunkResult>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
    });
    // The first chunks go out at once; later ones wait for flush() (after a chunker push) or a returning worker.
    if (this.idle.length === this.size) this.flush();
    done.catch(() => {});
    return { done };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
