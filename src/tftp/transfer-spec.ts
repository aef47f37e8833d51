// What a transfer needs, in a form that can cross to a worker thread: plain values, the file's
// bytes in shared memory (a boot storm sends one kernel to many clients: no copy per transfer)
// or the descriptor of a big file read block by block (descriptors belong to the process, not to a
// thread).
import { FileSource, MemorySource, type BlockSource } from './source.ts';
import type { TransferResult } from './transfer.ts';

export type SourceSpec =
  | { kind: 'memory'; data: Uint8Array }
  /** Ownership of `fd` passes with the spec: whoever runs the transfer closes it. */
  | { kind: 'file'; fd: number; size: number };

export interface TransferSpec {
  /** Local address of the request: the transfer answers from it. */
  local: string;
  ip: string;
  port: number;
  blksize: number;
  windowsize: number;
  oack: Uint8Array | undefined;
  tsizeAsked: boolean;
  timeoutMs: number | undefined;
  maxRetries: number;
  handshakeMs: number;
  deadlineMs: number;
  source: SourceSpec;
}

/** How a transfer ended, or why it never started (no socket: out of ports or descriptors). */
export type RunOutcome = { ok: true; result: TransferResult } | { ok: false; error: string };

export function sourceOf(spec: SourceSpec): BlockSource {
  if (spec.kind === 'memory') return new MemorySource(Buffer.from(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength));
  return new FileSource(spec.fd, spec.size);
}

/**
 * Bytes that can be handed to another thread without copying them each time: bytes already in
 * shared memory are passed as they are, anything else is copied into shared memory once.
 */
export function shareable(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const out = new Uint8Array(new SharedArrayBuffer(data.byteLength));
  out.set(data);
  return out;
}
