// Chunk compression. A .cacnk is one zstd frame: desync reads only zstd, casync detects it by
// magic. zstd-napi (in-process, no pipe per chunk) was measured against the zstd CLI: see
// bench/store/zstd.ts and the store note; per-chunk process spawns cost more than they save.
import { Compressor, decompress as zstdDecompress } from 'zstd-napi';

const ZSTD_MAGIC = 0xfd2fb528;

export class ChunkCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkCodecError';
  }
}

const compressors = new Map<number, Compressor>();

export function compressChunk(data: Uint8Array, level: number): Buffer {
  let c = compressors.get(level);
  if (!c) {
    c = new Compressor();
    // The content size in the frame header lets a reader allocate once; casync writes it too.
    c.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: false });
    compressors.set(level, c);
  }
  return c.compress(data);
}

export function decompressChunk(frame: Uint8Array): Buffer {
  if (frame.length < 4 || Buffer.from(frame.buffer, frame.byteOffset, 4).readUInt32LE(0) !== ZSTD_MAGIC) {
    throw new ChunkCodecError('not a zstd frame (bad magic)');
  }
  try {
    return zstdDecompress(frame);
  } catch (err) {
    throw new ChunkCodecError(`zstd: ${err instanceof Error ? err.message : String(err)}`);
  }
}
