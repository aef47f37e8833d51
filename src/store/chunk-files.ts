// Compressed chunk files as HTTP serves them. Each is verified the first time it is served
// (decompress + SHA-512/256 against its name: a chunk corrupted on disk becomes a 500 and a log
// line, never bytes a client would reject or, worse, a cache would keep for a year), then kept
// in a byte-budgeted LRU because chunks never change. A hit is one res.end(buffer): that is what
// brings the chunk path near nginx.
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { hashChunk } from './chunk-id.ts';
import { decompressChunk } from './codec.ts';
import { CorruptChunkError } from './chunk-source.ts';
import { chunkPath } from './layout.ts';
import { ByteLru } from './lru.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';

export interface ChunkFiles {
  /** The cached .cacnk bytes, without waiting (the hot path). */
  peek(hex: string): Buffer | undefined;
  /** The verified .cacnk bytes, or undefined when the store has no such chunk; rejects with CorruptChunkError. */
  get(hex: string): Promise<Buffer | undefined>;
}

/** Chunks verified by this process, by the first 64 bits of their id: a chunk that fell out of the cache is re-read, not re-verified. */
const VERIFIED_MAX = 1_000_000;

export function createChunkFiles(root: string, cacheBytes: number, log: Logger): ChunkFiles {
  const cache = new ByteLru<Buffer>(cacheBytes);
  const verified = new Set<string>();
  return {
    peek: (hex) => cache.get(hex),
    async get(hex) {
      const hit = cache.get(hex);
      if (hit) return hit;
      let data: Buffer;
      try {
        data = await fs.readFile(chunkPath(root, hex));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        throw err;
      }
      const key = hex.slice(0, 16);
      if (!verified.has(key)) {
        let why: string | undefined;
        try {
          if (hashChunk(decompressChunk(data)).toString('hex') !== hex) why = 'SHA-512/256 of its content does not match its id';
        } catch (err) {
          why = errorMessage(err);
        }
        if (why) {
          log.error({ chunk: hex, err: why }, 'corrupt chunk refused');
          throw new CorruptChunkError(hex, why);
        }
        if (verified.size >= VERIFIED_MAX) verified.clear();
        verified.add(key);
      }
      cache.set(hex, data);
      return data;
    },
  };
}
