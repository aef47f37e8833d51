// Compressed chunk files as HTTP serves them. Each is verified the first time it is served
// (decompress + SHA-512/256 against its name: a chunk corrupted on disk becomes a 500 and a log
// line, never bytes a client would reject or, worse, a cache would keep for a year), then kept
// in a byte-budgeted LRU because chunks never change. A hit is one res.end(buffer): that is what
// brings the chunk path near nginx. The first-serve check runs in the verify pool's workers, so a
// cold store (casync extracting an image nobody fetched yet) is served on every core.
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { hashChunk } from './chunk-id.ts';
import { decompressChunk } from './codec.ts';
import { CorruptChunkError } from './chunk-source.ts';
import { chunkPath } from './layout.ts';
import { ByteLru } from './lru.ts';
import { type FileStamp, stampFile } from './file-stamp.ts';
import { VerifyError, type VerifyPool, verifyPool } from './verify-pool.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';

export interface ChunkFiles {
  /** The cached .cacnk bytes, without waiting (the hot path). */
  peek(hex: string): Buffer | undefined;
  /** The verified .cacnk bytes, or undefined when the store has no such chunk; rejects with CorruptChunkError. */
  get(hex: string): Promise<Buffer | undefined>;
}

/**
 * Chunks verified by this process, by the first 64 bits of their id, with what their file was
 * then (inode, size, change time): a chunk that fell out of the cache is re-read, not re-verified,
 * unless its file changed since. A chunk truncated, overwritten or replaced after it was first
 * served was otherwise sent as whatever it now held. (Decay under an unchanged inode is for
 * `store verify`; clients verify every chunk too.)
 */
const VERIFIED_MAX = 1_000_000;


function isAbsent(err: unknown): boolean {
  return errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR';
}

/** The file's stamp, or undefined when there is no such file. */
async function stampIfPresent(file: string): Promise<FileStamp | undefined> {
  try {
    return await stampFile(file);
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

/** `pool`: where a first-served chunk is verified (default: the process's worker pool); null: this thread. */
export function createChunkFiles(root: string, cacheBytes: number, log: Logger, pool: VerifyPool | null = verifyPool()): ChunkFiles {
  const cache = new ByteLru<Buffer>(cacheBytes);
  const verified = new Map<string, FileStamp>();

  function refuse(hex: string, why: string): never {
    log.error({ chunk: hex, err: why }, 'corrupt chunk refused');
    throw new CorruptChunkError(hex, why);
  }

  /** The frame, verified in a worker; undefined when there is no such file. */
  async function verifiedInWorker(hex: string, p: VerifyPool): Promise<Buffer | undefined> {
    try {
      return await p.load(chunkPath(root, hex), hex, -1, 'frame');
    } catch (err) {
      if (!(err instanceof VerifyError)) throw err;
      if (err.failure.kind === 'missing') return undefined;
      if (err.failure.kind === 'corrupt') refuse(hex, err.failure.message);
      throw new Error(`chunk ${hex}: ${err.failure.message}`);
    }
  }

  async function verifiedHere(hex: string): Promise<Buffer | undefined> {
    let data: Buffer;
    try {
      data = await fs.readFile(chunkPath(root, hex));
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw err;
    }
    let why: string | undefined;
    try {
      if (hashChunk(decompressChunk(data)).toString('hex') !== hex) why = 'SHA-512/256 of its content does not match its id';
    } catch (err) {
      why = errorMessage(err);
    }
    if (why) refuse(hex, why);
    return data;
  }

  /** The frame as verified before, if its file has not changed since: read first, stamp after, so a write in between shows. */
  async function unchanged(hex: string, stamp: FileStamp): Promise<Buffer | undefined> {
    const file = chunkPath(root, hex);
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw err;
    }
    return (await stampIfPresent(file)) === stamp ? data : undefined;
  }

  return {
    peek: (hex) => cache.get(hex),
    async get(hex) {
      const hit = cache.get(hex);
      if (hit) return hit;
      const key = hex.slice(0, 16);
      const known = verified.get(key);
      let data = known === undefined ? undefined : await unchanged(hex, known);
      if (!data) {
        verified.delete(key);
        // Stamped before the check reads the file: a write during the check changes the stamp, so it is checked again next time.
        const stamp = await stampIfPresent(chunkPath(root, hex));
        if (stamp === undefined) return undefined;
        data = pool ? await verifiedInWorker(hex, pool) : await verifiedHere(hex);
        if (!data) return undefined;
        if (verified.size >= VERIFIED_MAX) verified.clear();
        verified.set(key, stamp);
      }
      cache.set(hex, data);
      return data;
    },
  };
}
