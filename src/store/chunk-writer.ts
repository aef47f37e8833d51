// Writing a chunk: hash, and only if the store lacks it, compress and publish it by
// temp file + rename, so a reader (or a crash) never sees a half-written .cacnk.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hashChunk } from './chunk-id.ts';
import { compressChunkView } from './codec.ts';
import { chunkPath, TMP_SUFFIX } from './layout.ts';

export interface StoredChunk {
  id: Buffer;
  /** Compressed size on disk. */
  stored: number;
  /** False when the store already had it. */
  isNew: boolean;
}

// Temp names: a random prefix per thread and a counter, unique across threads and concurrent
// imports without drawing random bytes per chunk.
const tmpPrefix = randomBytes(6).toString('hex');
let tmpCount = 0;

// Chunk folders this thread has seen exist: a first import makes a new folder for nearly every
// chunk (2,147 of usr.squashfs's 2,185 chunks). Trying the open first cost a failed openat and a
// thrown ENOENT (a JS error object) per folder, and the stat before it a failed statx: a folder
// made just now holds no chunk. Bounded by the 65,536 4-hex folders; emptied when the root changes.
const folders = new Set<string>();

/** Makes sure the folder exists; true when this call made it (then it holds nothing yet). */
function ensureFolder(dir: string): boolean {
  if (folders.has(dir)) return false;
  // recursive: an existing folder is no error (nothing thrown), and a missing store root is made too.
  let made: boolean;
  try {
    made = fs.mkdirSync(dir, { recursive: true }) !== undefined;
  } catch (err) {
    // Node's recursive mkdir reports a read-only or full file system as ENOENT: ask once more
    // without it for the real reason (EROFS, ENOSPC…), which the import turns into one clear line.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dir);
    made = true;
  }
  folders.add(dir);
  return made;
}

function writeTemp(dir: string, tmp: string, frame: Uint8Array): void {
  try {
    fs.writeFileSync(tmp, frame);
  } catch (err) {
    // The folder went away since it was seen (removed by hand, or the store moved under us): make it again, once.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(tmp, frame);
  }
}

function writeNew(dir: string, file: string, tmp: string, frame: Uint8Array): void {
  try {
    writeTemp(dir, tmp, frame);
    fs.renameSync(tmp, file);
  } catch (err) {
    // A full disk leaves the part written so far: remove it, or every failed import on a full
    // store keeps a few more blocks of it taken until gc's grace period ends.
    try { fs.rmSync(tmp, { force: true }); } catch { /* the store refuses writes altogether (EROFS): nothing was left */ }
    throw err;
  }
}

// Chunks this thread stored or touched lately (id → size on disk), so a chunk repeated within an
// import (zero runs: every 256 KiB chunk of an empty region has one id) costs no stat + utimes
// after its first time. Bounded: emptied when full. A chunk pool (and its threads) lives for one import.
const recent = new Map<string, number>();
const RECENT_MAX = 4096;
let recentRoot = '';

function remember(hex: string, stored: number): void {
  if (recent.size >= RECENT_MAX) recent.clear();
  recent.set(hex, stored);
}

/**
 * Reuse refreshes the mtime: gc spares chunks younger than its grace period, and an import in
 * flight that reuses an unreferenced chunk must not lose it before its index is published.
 * False when the file went away since it was seen (gc took it between the stat and the touch:
 * maintenance.ts removeUnlessTouched): the caller writes it anew.
 */
function touch(file: string): boolean {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** `id`: the chunk's id when the caller has it already (a batch hashed at once), else computed here. */
export function storeChunk(root: string, data: Uint8Array, level: number, id: Buffer = hashChunk(data)): StoredChunk {
  const hex = id.toString('hex');
  if (root !== recentRoot) {
    recent.clear();
    folders.clear();
    recentRoot = root;
  }
  const known = recent.get(hex);
  if (known !== undefined) return { id, stored: known, isNew: false };
  const file = chunkPath(root, hex);
  const dir = path.dirname(file);
  // throwIfNoEntry: an absent chunk is the common case of a first import, and a thrown ENOENT costs more than the lookup.
  const st = ensureFolder(dir) ? undefined : fs.statSync(file, { throwIfNoEntry: false });
  // An empty file is what ext4 and XFS leave of a chunk whose rename was journaled but whose data
  // was never written (power lost before the import's sync): never a zstd frame, so written anew.
  if (st && st.size > 0 && touch(file)) {
    remember(hex, st.size);
    return { id, stored: st.size, isNew: false };
  }
  // A view into this thread's compression buffer: written out before the next chunk reuses it.
  const frame = compressChunkView(data, level);
  // The temp name starts with a dot so castr readers listing the folder skip it; gc removes stale ones.
  const tmp = `${file.slice(0, file.length - hex.length - 6)}.${hex}.${tmpPrefix}${(tmpCount++).toString(36)}${TMP_SUFFIX}`;
  writeNew(dir, file, tmp, frame);
  remember(hex, frame.length);
  return { id, stored: frame.length, isNew: true };
}
