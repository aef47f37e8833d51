// Writing a chunk: hash, and only if the store lacks it, compress and publish it by
// temp file + rename, so a reader (or a crash) never sees a half-written .cacnk.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hashChunk } from './chunk-id.ts';
import { compressChunk } from './codec.ts';
import { chunkPath, TMP_SUFFIX } from './layout.ts';

export interface StoredChunk {
  id: Buffer;
  /** Compressed size on disk. */
  stored: number;
  /** False when the store already had it. */
  isNew: boolean;
}

const madeDirs = new Set<string>();

export function storeChunk(root: string, data: Uint8Array, level: number): StoredChunk {
  const id = hashChunk(data);
  const hex = id.toString('hex');
  const file = chunkPath(root, hex);
  // throwIfNoEntry: an absent chunk is the common case of a first import, and a thrown ENOENT costs more than the lookup.
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st) {
    // Reuse refreshes the mtime: gc spares chunks younger than its grace period, and an import
    // in flight that reuses an unreferenced chunk must not lose it before its index is published.
    const now = new Date();
    fs.utimesSync(file, now, now);
    return { id, stored: st.size, isNew: false };
  }
  const frame = compressChunk(data, level);
  const dir = path.dirname(file);
  if (!madeDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  // The temp name starts with a dot so castr readers listing the folder skip it; gc removes stale ones.
  const tmp = path.join(dir, `.${hex}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`);
  fs.writeFileSync(tmp, frame);
  fs.renameSync(tmp, file);
  return { id, stored: frame.length, isNew: true };
}
