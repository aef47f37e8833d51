// Reading verified chunks: every chunk is decompressed and hashed before anyone sees its bytes,
// so a chunk corrupted on disk becomes an error (HTTP 5xx, NBD EIO), never wrong data.
// Decompressed, verified chunks are shared by all readers through one LRU.
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { hashChunk } from './chunk-id.ts';
import { ChunkCodecError, decompressChunk } from './codec.ts';
import { chunkPath } from './layout.ts';
import { ByteLru } from './lru.ts';
import { VerifyError, type VerifyPool, verifyPool } from './verify-pool.ts';
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
  /** Reads served from the cache and reads that had to load (or join a load), for /metrics. */
  readonly counts: { hits: number; misses: number };
}

/**
 * `pool`: where chunks are decompressed and hashed (default: the process's worker pool, so cold
 * reads use every core); null does it on the calling thread.
 */
export function createChunkSource(root: string, cacheBytes: number, log: Logger, pool: VerifyPool | null = verifyPool()): ChunkSource {
  const cache = new ByteLru<Buffer>(cacheBytes);
  const inflight = new Map<string, Promise<Buffer>>();
  const counts = { hits: 0, misses: 0 };

  function refuse(hex: string, why: string): never {
    const e = new CorruptChunkError(hex, why);
    log.error({ chunk: hex, err: e.message }, 'corrupt chunk refused');
    throw e;
  }

  async function loadInWorker(hex: string, size: number, p: VerifyPool): Promise<Buffer> {
    try {
      return await p.load(chunkPath(root, hex), hex, size);
    } catch (err) {
      if (!(err instanceof VerifyError)) throw err;
      if (err.failure.kind === 'corrupt') refuse(hex, err.failure.message);
      if (err.failure.kind === 'missing') {
        log.error({ chunk: hex }, 'chunk missing from the store');
        throw new MissingChunkError(hex);
      }
      throw new Error(`chunk ${hex}: ${err.failure.message}`);
    }
  }

  async function load(hex: string, id: Buffer, size: number): Promise<Buffer> {
    if (pool) return loadInWorker(hex, size, pool);
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
      data = decompressChunk(frame, size);
    } catch (err) {
      refuse(hex, err instanceof ChunkCodecError ? err.message : errorMessage(err));
    }
    if (data.length !== size) refuse(hex, `decompressed to ${data.length} bytes, the index says ${size}`);
    if (!hashChunk(data).equals(id)) refuse(hex, 'SHA-512/256 of its content does not match its id');
    return data;
  }

  return {
    cache,
    counts,
    get(id, size) {
      const hex = id.toString('hex');
      const hit = cache.get(hex);
      if (hit) { counts.hits++; return Promise.resolve(hit); }
      counts.misses++;
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
