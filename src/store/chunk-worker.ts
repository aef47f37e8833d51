// Worker thread: the CPU-heavy part of an import. It scans blocks of the stream for candidate
// chunk ends (boundary-scan.ts) and hashes, compresses and writes chunks, reading both straight
// from the pool's shared block buffers: nothing is copied between threads.
import { parentPort, workerData } from 'node:worker_threads';
import { markCandidatesWasm } from './boundary-scan-wasm.ts';
import { markCandidatesNative } from './boundary-scan-native.ts';
import { storeChunk } from './chunk-writer.ts';
import { hashChunks } from './chunk-hash-native.ts';

/** A block buffer and its candidate bitmap, shared by the main thread and every worker. */
export interface SharedSlot {
  buf: SharedArrayBuffer;
  bits: SharedArrayBuffer;
}

export type ChunkJob =
  | { kind: 'scan'; id: number; slot: number; from: number; to: number; d: number }
  | { kind: 'store'; id: number; slot: number; off: number; length: number };

export interface ChunkDone {
  id: number;
  chunkId?: Uint8Array;
  stored?: number;
  isNew?: boolean;
  error?: string;
  /** The errno code of `error` (ENOSPC, EROFS…), so the import can say what went wrong with the store. */
  code?: string;
}

/** The pool's data, as workerData. */
export interface ChunkWorkerInit {
  root: string;
  level: number;
  slots: SharedSlot[];
}

const { root, level, slots } = workerData as ChunkWorkerInit;
const bufs = slots.map((s) => new Uint8Array(s.buf));
const bits = slots.map((s) => new Uint32Array(s.bits));
const markCandidates = markCandidatesNative ?? markCandidatesWasm;

function chunkOf(job: ChunkJob & { kind: 'store' }): Uint8Array {
  return bufs[job.slot]!.subarray(job.off, job.off + job.length);
}

function run(job: ChunkJob, hash: Buffer | undefined): ChunkDone {
  if (job.kind === 'scan') {
    markCandidates(bufs[job.slot]!, job.from, job.to, job.d, bits[job.slot]!);
    return { id: job.id };
  }
  const r = storeChunk(root, chunkOf(job), level, hash);
  return { id: job.id, chunkId: r.id, stored: r.stored, isNew: r.isNew };
}

// Jobs come in batches: one message per several chunks halves the main thread's postMessage cost.
parentPort!.on('message', (jobs: ChunkJob[]) => {
  // A batch's chunk ids in one go: the addon hashes eight chunks side by side (chunk-hash-native.ts).
  const stores = jobs.filter((j) => j.kind === 'store');
  const ids = new Map<ChunkJob, Buffer>();
  hashChunks(stores.map(chunkOf)).forEach((h, i) => ids.set(stores[i]!, h));
  const replies: ChunkDone[] = [];
  for (const job of jobs) {
    try {
      replies.push(run(job, ids.get(job)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      replies.push({ id: job.id, error: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' && { code }) });
    }
  }
  parentPort!.postMessage(replies);
});
