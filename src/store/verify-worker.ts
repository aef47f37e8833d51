// Worker thread: read, decompress and hash-check chunks (what every cold read of an image
// costs: zstd plus SHA-512/256, about 2.5 ms per MB on one core), so serving readers use every
// core while the main thread only moves bytes. The jobs that queued up meanwhile (a reader keeps
// many loads in flight) are hashed together: the addon does eight at a time (chunk-hash-native.ts).
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { hashChunks } from './chunk-hash-native.ts';
import { decompressChunk } from './codec.ts';

export interface VerifyJob {
  seq: number;
  file: string;
  /** Expected id (64 hex). */
  hex: string;
  /** Expected uncompressed length; -1 when unknown (then only the hash is checked). */
  size: number;
  /** What comes back: the uncompressed bytes (readers) or the verified frame itself (HTTP chunk GETs). */
  keep: 'data' | 'frame';
}

export interface VerifyDone {
  seq: number;
  data?: ArrayBuffer;
  offset?: number;
  length?: number;
  /** missing: no such file; corrupt: bad frame, length or hash; io: any other read error. */
  error?: { kind: 'missing' | 'corrupt' | 'io'; message: string };
}

type Reply = { reply: VerifyDone; transfer: ArrayBuffer[] };

/** A chunk read and decompressed, its hash still to check; or the reply that ends its job early. */
type Loaded = { frame: Buffer; data: Buffer } | Reply;

function load(job: VerifyJob): Loaded {
  let frame: Buffer;
  try {
    frame = fs.readFileSync(job.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const kind = code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'io';
    return { reply: { seq: job.seq, error: { kind, message: err instanceof Error ? err.message : String(err) } }, transfer: [] };
  }
  let data: Buffer;
  try {
    data = decompressChunk(frame, job.size < 0 ? undefined : job.size);
  } catch (err) {
    return { reply: { seq: job.seq, error: { kind: 'corrupt', message: err instanceof Error ? err.message : String(err) } }, transfer: [] };
  }
  if (job.size >= 0 && data.length !== job.size) {
    return { reply: { seq: job.seq, error: { kind: 'corrupt', message: `decompressed to ${data.length} bytes, the index says ${job.size}` } }, transfer: [] };
  }
  return { frame, data };
}

function finish(job: VerifyJob, { frame, data }: { frame: Buffer; data: Buffer }, id: Buffer): Reply {
  if (id.toString('hex') !== job.hex) {
    return { reply: { seq: job.seq, error: { kind: 'corrupt', message: 'SHA-512/256 of its content does not match its id' } }, transfer: [] };
  }
  const keep = job.keep === 'frame' ? frame : data;
  // Transfer when the buffer owns its memory; a view into a shared pool must be copied.
  const ab = keep.buffer as ArrayBuffer;
  const own = keep.byteOffset === 0 && keep.byteLength === ab.byteLength;
  const out = own ? ab : new Uint8Array(keep).buffer;
  return { reply: { seq: job.seq, data: out, offset: 0, length: keep.length }, transfer: [out] };
}

function drain(jobs: VerifyJob[]): void {
  const loaded = jobs.map(load);
  const ok = loaded.flatMap((l, i) => ('data' in l ? [i] : []));
  const ids = hashChunks(ok.map((i) => (loaded[i] as { data: Buffer }).data));
  const hashed = new Map(ok.map((i, k) => [i, ids[k]!]));
  jobs.forEach((job, i) => {
    const l = loaded[i]!;
    const { reply, transfer } = 'data' in l ? finish(job, l, hashed.get(i)!) : l;
    parentPort!.postMessage(reply, transfer);
  });
}

/**
 * Jobs per batch at most: two rounds of the addon's eight lanes. Each holds its chunk (up to
 * 256 KiB) until the batch is hashed, and the first reply waits for the whole batch.
 */
const BATCH = 16;

// The port hands over every message already queued before the event loop's check phase: what
// arrived meanwhile is one batch.
const queue: VerifyJob[] = [];
function next(): void {
  drain(queue.splice(0, BATCH));
  if (queue.length > 0) setImmediate(next);
}
parentPort!.on('message', (job: VerifyJob) => {
  queue.push(job);
  if (queue.length === 1) setImmediate(next);
});
