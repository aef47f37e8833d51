// Chunk ids: SHA-512/256 of the uncompressed bytes, as casync's CA_FORMAT_SHA512_256 indexes say.
import { createHash } from 'node:crypto';

export function hashChunk(data: Uint8Array): Buffer {
  return createHash('sha512-256').update(data).digest();
}

const HEX64 = /^[0-9a-f]{64}$/;

export function isChunkHex(s: string): boolean {
  return HEX64.test(s);
}
