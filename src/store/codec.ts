// Chunk compression. A .cacnk is one zstd frame: desync reads only zstd, casync detects it by
// magic. zstd-napi (in-process, no pipe per chunk) was measured against the zstd CLI: see
// bench/store/zstd.ts and the store note; per-chunk process spawns cost more than they save.
import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.js';

// The native binding is CommonJS that re-exports a .node file: ESM cannot see its names.
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

const ZSTD_MAGIC = 0xfd2fb528;

export class ChunkCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkCodecError';
  }
}

// One compression context and one output buffer per thread and level, reused for every chunk.
// zstd-napi's Compressor.compress allocates a fresh compressBound-sized Buffer per call (an mmap
// and page faults for anything over 128 KiB): on incompressible squashfs chunks that ran at
// 190-450 MB/s, against 2,200-2,800 MB/s for compress2 into a reused buffer (64 KiB chunks, here).
const contexts = new Map<number, ZstdBinding.CCtx>();
let scratch: Buffer | undefined;

function context(level: number): ZstdBinding.CCtx {
  let c = contexts.get(level);
  if (!c) {
    c = new zstd.CCtx();
    c.setParameter(zstd.CParameter.compressionLevel, level);
    // No content size in the frame header, as casync writes its frames (streaming, no pledged
    // size): 1–3 bytes less per chunk, so an update never stores more than casync's for the
    // same chunks. The size still tunes the compressor (one-shot API) and the index knows it;
    // such frames decompress as fast (measured here on 64 and 256 KiB chunks of the bench image).
    c.setParameter(zstd.CParameter.contentSizeFlag, 0);
    c.setParameter(zstd.CParameter.checksumFlag, 0);
    contexts.set(level, c);
  }
  return c;
}

/** The frame as a view into this thread's scratch buffer: valid only until the next call on this thread. */
export function compressChunkView(data: Uint8Array, level: number): Buffer {
  const bound = zstd.compressBound(data.length);
  if (!scratch || scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, zstd.compressBound(256 * 1024)));
  const n = context(level).compress2(scratch, data);
  return scratch.subarray(0, n);
}

/** The frame in a Buffer of its own. */
export function compressChunk(data: Uint8Array, level: number): Buffer {
  return Buffer.from(compressChunkView(data, level));
}

// One decompression context per thread, used one-shot (ZSTD_decompressDCtx) whenever the output
// size is known: from the frame header, or from the caller (the index's chunk length, since our
// frames and casync's carry no content size). zstd-napi's own decompress() streams such frames
// through a context that is never reset, so after one bad frame every later chunk failed.
let dctx: ZstdBinding.DCtx | undefined;
const STREAM_PIECE = 128 * 1024;

/** `size`: the expected uncompressed length when known (a frame that holds more is refused). */
export function decompressChunk(frame: Uint8Array, size?: number): Buffer {
  if (frame.length < 4 || Buffer.from(frame.buffer, frame.byteOffset, 4).readUInt32LE(0) !== ZSTD_MAGIC) {
    throw new ChunkCodecError('not a zstd frame (bad magic)');
  }
  dctx ??= new zstd.DCtx();
  try {
    const cap = zstd.getFrameContentSize(frame) ?? size;
    if (cap !== undefined) {
      const out = Buffer.allocUnsafe(cap);
      const n = dctx.decompress(out, frame);
      return n === cap ? out : out.subarray(0, n);
    }
    // Size unknown (HTTP and `store verify` check a chunk by its name only): stream it.
    dctx.reset(zstd.ResetDirective.sessionOnly);
    const pieces: Buffer[] = [];
    let rest = frame;
    let ret = 1;
    // ret is 0 once the frame is complete; output may still be pending after the last input byte.
    while (ret !== 0) {
      const piece = Buffer.allocUnsafe(Math.max(STREAM_PIECE, rest.length));
      const [r, produced, consumed] = dctx.decompressStream(piece, rest);
      ret = r;
      if (produced > 0) pieces.push(piece.subarray(0, produced));
      rest = rest.subarray(consumed);
      if (produced === 0 && consumed === 0) break;
    }
    if (ret !== 0) throw new Error('frame is truncated');
    if (rest.length > 0) throw new Error(`${rest.length} bytes after the frame`);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  } catch (err) {
    // Whatever state a bad frame left behind must not reach the next chunk.
    dctx.reset(zstd.ResetDirective.sessionOnly);
    throw new ChunkCodecError(`zstd: ${err instanceof Error ? err.message : String(err)}`);
  }
}
