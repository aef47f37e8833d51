// Chunk ids of a whole batch at once, from native/chunk-hash.c (eight SHA-512/256 in the lanes of
// AVX-512 registers: ~2,650 MB/s on one core here, against ~610-810 for node:crypto one chunk at
// a time). Without the addon or without AVX-512, ids come from chunk-id.ts, one by one.
import { loadAddon } from '../util/addon.ts';
import { hashChunk } from './chunk-id.ts';

type HashChunks = (chunks: Uint8Array[], out: Uint8Array) => void;

function load(): HashChunks | undefined {
  const addon = loadAddon<{ hashChunks?: HashChunks }>('branchboot_hash', 'BRANCHBOOT_HASH_ADDON');
  return addon instanceof Error ? undefined : addon.hashChunks;
}
const native = load();

/** True when batches are hashed by the addon. */
export const hasNativeChunkHash = native !== undefined;

/** The addon's limit per call. */
const MAX = 256;
/**
 * Fewer chunks go to node:crypto: the addon runs all eight lanes whatever number are busy, so one
 * chunk alone hashes at an eighth of its 2,650 MB/s (~330 MB/s), and two at ~660, below node:crypto's 810.
 */
const MIN = 3;

/** SHA-512/256 of each chunk (chunk-id.ts's hashChunk, for many). */
export function hashChunks(chunks: Uint8Array[]): Buffer[] {
  if (!native || chunks.length < MIN) return chunks.map(hashChunk);
  const ids: Buffer[] = [];
  for (let i = 0; i < chunks.length; i += MAX) {
    const part = chunks.slice(i, i + MAX);
    const out = Buffer.allocUnsafe(32 * part.length);
    native(part, out);
    for (let k = 0; k < part.length; k++) ids.push(out.subarray(32 * k, 32 * k + 32));
  }
  return ids;
}
