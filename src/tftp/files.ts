// Finding a requested name in the static roots, safely, and opening it as a BlockSource.
// Small files are held in a shared in-memory cache: in a boot storm every client asks for the
// same iPXE binary and kernel, and serving them from memory keeps the per-packet path free of
// file I/O. The cache is keyed by (path, inode, size, mtime), so a replaced file is never
// served stale.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { FileSource, MemorySource, type BlockSource } from './source.ts';
import { shareable, type SourceSpec } from './transfer-spec.ts';
import { errnoCode } from '../util/errors.ts';

export type Lookup =
  | { kind: 'file'; realPath: string; stat: fs.Stats }
  | { kind: 'missing' }
  | { kind: 'outside'; realPath: string; root: string };

/** Searches `roots` in order. A symlink that resolves outside its root is refused, not skipped. */
export async function lookupInRoots(roots: readonly string[], rel: string): Promise<Lookup> {
  for (const root of roots) {
    let realRoot: string;
    try { realRoot = await fsp.realpath(root); } catch { continue; }
    let real: string;
    try {
      real = await fsp.realpath(path.join(realRoot, rel));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EACCES') continue;
      throw err;
    }
    if (!real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
      return { kind: 'outside', realPath: real, root };
    }
    let st: fs.Stats;
    try { st = await fsp.stat(real); } catch { continue; }
    if (st.isFile()) return { kind: 'file', realPath: real, stat: st };
  }
  return { kind: 'missing' };
}

export interface FileCacheOptions {
  /** Files up to this size are cached whole. */
  maxFileBytes: number;
  /** Total bytes held; least recently used files are dropped beyond it. */
  maxTotalBytes: number;
}

interface Entry { size: number; ready: Buffer | undefined }

export class FileCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  constructor(private readonly opts: FileCacheOptions) {}

  private keyOf(realPath: string, st: fs.Stats): string {
    return `${realPath}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  }

  /**
   * The whole file from memory when it is small enough to cache and has been read; 'reading'
   * while it is being read (the first request for it starts that); undefined when too big.
   * A request that gets 'reading' reads the file itself rather than wait: reading 20 MB into
   * fresh memory takes ~60 ms on the bench VM (page faults), as long as sending it at blksize
   * 65464, so the first transfer of a file ran at half speed while it waited.
   */
  get(realPath: string, st: fs.Stats): Buffer | 'reading' | undefined {
    if (st.size > this.opts.maxFileBytes) return undefined;
    const key = this.keyOf(realPath, st);
    const hit = this.entries.get(key);
    if (hit) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.ready ?? 'reading';
    }
    for (const [k, e] of this.entries) {
      if (k.startsWith(`${realPath}\0`)) { this.entries.delete(k); this.total -= e.size; }
    }
    const entry: Entry = { size: st.size, ready: undefined };
    this.entries.set(key, entry);
    this.total += st.size;
    for (const [k, e] of this.entries) {
      if (this.total <= this.opts.maxTotalBytes || e === entry) break;
      this.entries.delete(k);
      this.total -= e.size;
    }
    // A file that changed between stat and read is not kept (its next request stats it anew).
    readShared(realPath, st.size).then((buf) => {
      if (buf) entry.ready = buf;
      else this.drop(key, entry);
    }, () => this.drop(key, entry));
    return 'reading';
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.total -= entry.size;
  }

  stats(): { files: number; bytes: number } {
    return { files: this.entries.size, bytes: this.total };
  }
}

/**
 * Reads a whole file into shared memory, so transfers on other threads use the same bytes;
 * undefined when it grew or shrank since its stat.
 */
async function readShared(realPath: string, size: number): Promise<Buffer | undefined> {
  const fh = await fsp.open(realPath, 'r');
  try {
    const buf = Buffer.from(new SharedArrayBuffer(size));
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, size - done, done);
      if (bytesRead === 0) return undefined;
      done += bytesRead;
    }
    const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, size);
    return bytesRead === 0 ? buf : undefined;
  } finally {
    await fh.close();
  }
}

export interface OpenedFile {
  size: number;
  /** A source read in this thread. */
  open(): BlockSource;
  /** Hands the bytes (or the descriptor) over to the thread that runs the transfer. */
  share(): SourceSpec;
  /** Release without transferring (the request was refused after opening). */
  close(): void;
}

/** Bytes already in memory: generated files, netascii conversions, cached files. */
export function memoryFile(data: Buffer): OpenedFile {
  return {
    size: data.length,
    open: () => new MemorySource(data),
    share: () => ({ kind: 'memory', data: shareable(data) }),
    close: () => undefined,
  };
}

/**
 * Opens a looked-up file: from the cache when it is there, else as a file descriptor read block
 * by block (a big file, or a small one whose first read into the cache is under way).
 */
export async function openFile(found: { realPath: string; stat: fs.Stats }, cache: FileCache): Promise<OpenedFile> {
  const cached = cache.get(found.realPath, found.stat);
  if (cached !== undefined && cached !== 'reading') return memoryFile(cached);
  const fd = await new Promise<number>((res, rej) => fs.open(found.realPath, 'r', (e, f) => (e ? rej(e) : res(f))));
  try {
    // The size comes from the open file, so tsize matches what is sent even if the name was
    // replaced since the lookup.
    const st = await new Promise<fs.Stats>((res, rej) => fs.fstat(fd, (e, s) => (e ? rej(e) : res(s))));
    let owned = true;
    return {
      size: st.size,
      open: () => { owned = false; return new FileSource(fd, st.size); },
      share: () => { owned = false; return { kind: 'file', fd, size: st.size }; },
      close: () => { if (owned) { owned = false; fs.close(fd, () => undefined); } },
    };
  } catch (err) {
    fs.close(fd, () => undefined);
    throw err;
  }
}
