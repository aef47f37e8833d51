// Worker thread: read, decompress and hash-check one chunk (what every cold read of an image
// costs: zstd plus SHA-512/256, about 2.5 ms per MB on one core), so serving readers use every
// core while the main thread only moves bytes.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { hashChunk } from './chunk-id.ts';
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

function run(job: VerifyJob): { reply: VerifyDone; transfer: ArrayBuffer[] } {
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
  if (hashChunk(data).toString('hex') !== job.hex) {
    return { reply: { seq: job.seq, error: { kind: 'corrupt', message: 'SHA-512/256 of its content does not match its id' } }, transfer: [] };
  }
  const keep = job.keep === 'frame' ? frame : data;
  // Transfer when the buffer owns its memory; a view into a shared pool must be copied.
  const ab = keep.buffer as ArrayBuffer;
  const own = keep.byteOffset === 0 && keep.byteLength === ab.byteLength;
  const out = own ? ab : new Uint8Array(keep).buffer;
  return { reply: { seq: job.seq, data: out, offset: 0, length: keep.length }, transfer: [out] };
}

parentPort!.on('message', (job: VerifyJob) => {
  const { reply, transfer } = run(job);
  parentPort!.postMessage(reply, transfer);
});
