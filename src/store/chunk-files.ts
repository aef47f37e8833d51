// Compressed chunk files as HTTP serves them: bytes straight from disk (no decompression, no
// hashing: the client verifies), kept in a byte-budgeted LRU because chunks never change.
// A hit is then one res.end(buffer), which is what gets the chunk path near nginx.
import fs from 'node:fs/promises';
import { chunkPath } from './layout.ts';
import { ByteLru } from './lru.ts';
import { errnoCode } from '../util/errors.ts';

export interface ChunkFiles {
  /** The cached .cacnk bytes, without waiting (the hot path). */
  peek(hex: string): Buffer | undefined;
  /** The .cacnk bytes, or undefined when the store has no such chunk. */
  get(hex: string): Promise<Buffer | undefined>;
}

export function createChunkFiles(root: string, cacheBytes: number): ChunkFiles {
  const cache = new ByteLru<Buffer>(cacheBytes);
  return {
    peek: (hex) => cache.get(hex),
    async get(hex) {
      const hit = cache.get(hex);
      if (hit) return hit;
      try {
        const data = await fs.readFile(chunkPath(root, hex));
        cache.set(hex, data);
        return data;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        throw err;
      }
    },
  };
}
