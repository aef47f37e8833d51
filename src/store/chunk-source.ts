// Reading verified chunks: every chunk is decompressed and hashed before anyone sees its bytes,
// so a chunk corrupted on disk becomes an error (HTTP 5xx, NBD EIO), never wrong data.
// Decompressed, verified chunks are shared by all readers through one LRU.
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { hashChunk } from './chunk-id.ts';
import { ChunkCodecError, decompressChunk } from './codec.ts';
import { chunkPath } from './layout.ts';
import { ByteLru } from './lru.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';

export class CorruptChunkError extends Error {
  readonly code = 'ECHUNKCORRUPT';
  constructor(readonly chunkHex: string, why: string) {
    super(`chunk ${chunkHex} is corrupt: ${why}`);
    this.name = 'CorruptChunkError';
  }
}

export class MissingChunkError extends Error {
  readonly code = 'ECHUNKMISSING';
  constructor(readonly chunkHex: string) {
    super(`chunk ${chunkHex} is missing from the store`);
    this.name = 'MissingChunkError';
  }
}

export interface ChunkSource {
  /** The uncompressed, hash-verified bytes of chunk `id`, expected to be `size` bytes long. */
  get(id: Buffer, size: number): Promise<Buffer>;
  readonly cache: ByteLru<Buffer>;
}

export function createChunkSource(root: string, cacheBytes: number, log: Logger): ChunkSource {
  const cache = new ByteLru<Buffer>(cacheBytes);
  const inflight = new Map<string, Promise<Buffer>>();

  async function load(hex: string, id: Buffer, size: number): Promise<Buffer> {
    let frame: Buffer;
    try {
      frame = await fs.readFile(chunkPath(root, hex));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        log.error({ chunk: hex }, 'chunk missing from the store');
        throw new MissingChunkError(hex);
      }
      throw err;
    }
    let data: Buffer;
    try {
      data = decompressChunk(frame);
    } catch (err) {
      const e = new CorruptChunkError(hex, err instanceof ChunkCodecError ? err.message : errorMessage(err));
      log.error({ chunk: hex, err: e.message }, 'corrupt chunk refused');
      throw e;
    }
    if (data.length !== size) {
      const e = new CorruptChunkError(hex, `decompressed to ${data.length} bytes, the index says ${size}`);
      log.error({ chunk: hex, err: e.message }, 'corrupt chunk refused');
      throw e;
    }
    if (!hashChunk(data).equals(id)) {
      const e = new CorruptChunkError(hex, 'SHA-512/256 of its content does not match its id');
      log.error({ chunk: hex, err: e.message }, 'corrupt chunk refused');
      throw e;
    }
    return data;
  }

  return {
    cache,
    get(id, size) {
      const hex = id.toString('hex');
      const hit = cache.get(hex);
      if (hit) return Promise.resolve(hit);
      let p = inflight.get(hex);
      if (!p) {
        p = load(hex, id, size).then((data) => {
          cache.set(hex, data);
          return data;
        }).finally(() => inflight.delete(hex));
        inflight.set(hex, p);
      }
      return p;
    },
  };
}
