// nfs and cifs roots: the system's NFS server or Samba serves boot.exportDir; branchboot puts
// each version's root there in the layout its flavor scans (casper/, live/, LiveOS/), read from
// the block store. Files appear atomically (write, fsync, rename), so a client mounting the
// share mid-publish sees the old state or the whole file, never half a squashfs.
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.ts';
import type { Flavor } from '../db/schema.ts';
import type { ImageReader } from '../store/types.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { publicationCandidates } from '../model/boot-queries.ts';
import { openStoreSync } from '../store/store-sync.ts';
import { checkExtents, isoFolderFiles, isoTreeFiles, type IsoEntry } from './iso-files.ts';
import { flavorLayout, publishedVersionDir } from './layout.ts';

export interface PublishInput {
  exportDir: string;
  image: string;
  version: number;
  flavor: Flavor;
  /** The assembled root (squashfs …) of the version. */
  reader: ImageReader;
  /** image_versions.root_kind: 'iso' is a whole layered casper ISO, whose casper/ files and package pool are published. */
  rootKind?: string | null | undefined;
  /** Kernel and initrd blob files, copied beside the root: casper's and live-boot's own media layout, handy for other loaders. */
  kernelFile?: string | null | undefined;
  initrdFile?: string | null | undefined;
  /** Stops the copy between reads; the temp file is removed and the old state stays. */
  signal?: AbortSignal | undefined;
}

export interface PublishResult {
  /** Folder of the version: <exportDir>/<image>/<version>. */
  dir: string;
  rootPath: string;
  bytes: number;
  /** True when the root was already there with the right size. */
  unchanged: boolean;
}

/** 4 MiB reads: large enough to keep the chunk cache busy, small enough not to matter in RAM. */
const STEP = 4 * 1024 * 1024;

function safeSegment(s: string): string {
  if (!s || s === '.' || s === '..' || /[/\\\0]/.test(s)) throw new Error(`"${s}" cannot be a folder name in the export`);
  return s;
}

async function sizeOf(p: string): Promise<number | undefined> {
  try { return (await fs.stat(p)).size; } catch { return undefined; }
}

const PARTIAL = /^\..+\.partial-(\d+)$/;
/** Folders this process has cleared of other processes' temp files. */
const swept = new Set<string>();

/**
 * Removes the temp files a killed earlier serve left in `dir` (a root squashfs is GBs, a pool
 * batch up to 256 MiB), once per folder and process: only one serve publishes into an export (the
 * dataDir lock), so a temp file of another pid is dead. A killed copy's file is always missing
 * afterwards, so the next pass writes into that folder and comes here first.
 */
async function sweepStalePartials(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  let names: string[];
  try { names = await fs.readdir(dir); } catch { return; }
  for (const n of names) {
    const m = PARTIAL.exec(n);
    if (m && Number(m[1]) !== process.pid) await fs.rm(path.join(dir, n), { force: true });
  }
}

async function atomicWrite(dest: string, fill: (fh: fs.FileHandle) => Promise<void>): Promise<void> {
  await sweepStalePartials(path.dirname(dest));
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.partial-${process.pid}`);
  const fh = await fs.open(tmp, 'w', 0o644);
  try {
    await fill(fh);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fs.rename(tmp, dest);
}

async function copyReader(reader: ImageReader, dest: string, signal: AbortSignal | undefined): Promise<void> {
  await atomicWrite(dest, async (fh) => {
    for (let off = 0; off < reader.size; off += STEP) {
      signal?.throwIfAborted();
      const buf = await reader.read(off, Math.min(STEP, reader.size - off));
      await fh.write(buf, 0, buf.length, off);
    }
  });
}

async function fillExtents(reader: ImageReader, f: IsoEntry, fh: fs.FileHandle, signal: AbortSignal | undefined): Promise<void> {
  let at = 0;
  for (const e of f.extents) {
    for (let off = 0; off < e.length; off += STEP) {
      signal?.throwIfAborted();
      const buf = await reader.read(e.start + off, Math.min(STEP, e.length - off));
      await fh.write(buf, 0, buf.length, at);
      at += buf.length;
    }
  }
}

async function copyExtents(reader: ImageReader, f: IsoEntry, dest: string, signal: AbortSignal | undefined): Promise<void> {
  await atomicWrite(dest, (fh) => fillExtents(reader, f, fh, signal));
}

/** Pool files written between two syncs of the export: bounds the temp files a stop leaves for the next pass to redo. */
const BATCH_FILES = 512;
const BATCH_BYTES = 256 << 20;

/**
 * Many small files, each appearing whole (temp file, then rename) like copyExtents, but with one
 * syncfs(2) of the export per batch instead of an fsync per file: Ubuntu's pool is a few thousand
 * .debs, and an fsync each was most of its publish time (bench/store/publish-pool.ts). Renames
 * follow the sync in list order, so a file never appears before one listed ahead of it.
 */
async function copyManyExtents(reader: ImageReader, items: { f: IsoEntry; dest: string }[], syncRoot: string, signal: AbortSignal | undefined): Promise<void> {
  if (items.length === 0) return;
  const sync = await openStoreSync(syncRoot);
  let pending: { tmp: string; dest: string }[] = [];
  let batchBytes = 0;
  let written = 0;
  const settle = async () => {
    await sync.flush().catch((err: NodeJS.ErrnoException) => { throw Object.assign(new Error(`${err.code ?? 'EIO'}: the export ${syncRoot} could not be synced to disk`), { code: err.code }); });
    for (const p of pending) await fs.rename(p.tmp, p.dest);
    pending = [];
    batchBytes = 0;
  };
  try {
    for (const { f, dest } of items) {
      await sweepStalePartials(path.dirname(dest));
      const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.partial-${process.pid}`);
      pending.push({ tmp, dest });
      const fh = await fs.open(tmp, 'w', 0o644);
      try { await fillExtents(reader, f, fh, signal); } finally { await fh.close(); }
      batchBytes += f.size;
      written += f.size;
      sync.wrote(written);
      if (pending.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await settle();
    }
    await settle();
  } catch (err) {
    await Promise.all(pending.map((p) => fs.rm(p.tmp, { force: true })));
    throw err;
  } finally {
    await sync.close();
  }
}

/**
 * The folders of a layered ISO published beside casper/, in this order: casper mounts the share
 * on /cdrom and moves it to /cdrom in the live system, where the installer finds its package
 * pool. Subiquity (server/apt.py configure_for_install) writes `deb [check-date=no] file:///cdrom
 * CODENAME main restricted` and runs apt-get update, which reads dists/CODENAME/ (a missing
 * Release file is an error, online or not) and then installs .debs from pool/ (shim, grub,
 * drivers: what the target needs that the layers lack). .disk/info names the release for casper
 * (its default user and host name), the desktop installer, apt-cdrom and fwupd's live-media
 * check. pool/ before dists/: a client reading the index mid-publish must find what it lists.
 * Not published: boot/ and EFI/ (firmware boot; branchboot serves its own loaders), md5sum.txt
 * (casper's integrity check would then miss those), and symbolic links (ubuntu -> ., dists/stable).
 */
export const ISO_MEDIA_FOLDERS = ['pool', 'dists', '.disk'];

/**
 * A layered casper ISO (Ubuntu 23.10+): casper mounts the share and scans casper/ for the layer
 * chain its initrd names (every prefix of LAYERFS_PATH), and the installer in the live session
 * reads casper/install-sources.yaml and the other layers (languages, enhanced secure boot). So
 * every file of the ISO's casper/ folder is published, and then ISO_MEDIA_FOLDERS beside it,
 * byte for byte from the ISO's extents.
 */
async function publishLayeredIso(reader: ImageReader, dir: string, mediaDir: string, signal: AbortSignal | undefined): Promise<{ path: string; bytes: number; unchanged: boolean }> {
  const casper = (await isoFolderFiles(reader, 'casper')).filter(publishableName);
  const media = (await isoTreeFiles(reader, ISO_MEDIA_FOLDERS, signal)).filter((f) => f.segments.every(publishableSegment));
  // Each list is checked on its own; together they must fit the image too (extents shared between them).
  checkExtents(reader, [...casper, ...media], ['casper', ...ISO_MEDIA_FOLDERS].join(', '));
  let bytes = 0;
  const made = new Set<string>();
  const seen = new Set<string>();
  /** The files not there yet with their size, their folders made; a name listed twice (a damaged ISO) only once. */
  const missing = async (list: { f: IsoEntry; dest: string }[]) => {
    const out: typeof list = [];
    for (const x of list) {
      if (seen.has(x.dest)) continue;
      seen.add(x.dest);
      bytes += x.f.size;
      if ((await sizeOf(x.dest)) === x.f.size) continue;
      const parent = path.dirname(x.dest);
      if (!made.has(parent)) { await makeDirs(parent, 0o755); made.add(parent); }
      out.push(x);
    }
    return out;
  };
  const layers = await missing(casper.map((f) => ({ f, dest: path.join(mediaDir, f.name) })));
  for (const { f, dest } of layers) await copyExtents(reader, f, dest, signal);
  const pool = await missing(media.map((f) => ({ f, dest: path.join(dir, ...f.segments) })));
  await copyManyExtents(reader, pool, dir, signal);
  return { path: mediaDir, bytes, unchanged: layers.length === 0 && pool.length === 0 };
}

const MAX_NAME_BYTES = 255 - '.'.length - '.partial-4194304'.length;

function publishableName(f: IsoEntry): boolean {
  return publishableSegment(f.name);
}

/**
 * One file or folder name inside the version's folder: no separator, NUL, "." or "..". Rock
 * Ridge names can be any length (NM entries continued through CE areas), a Linux file name 255
 * bytes, less the temp name's ".NAME.partial-PID": one such name in a crafted ISO failed the
 * whole publish. Casper and apt can never ask for a file that could not exist on their own
 * media, so it is left out (below a folder so named, everything is).
 */
function publishableSegment(name: string): boolean {
  return /^[^/\\\0]+$/.test(name) && name !== '.' && name !== '..' && Buffer.byteLength(name) <= MAX_NAME_BYTES;
}

async function copyFileAtomic(src: string, dest: string): Promise<void> {
  const [a, b] = await Promise.all([sizeOf(src), sizeOf(dest)]);
  if (a !== undefined && a === b) return;
  await atomicWrite(dest, async (fh) => { await fh.writeFile(await fs.readFile(src)); });
}

/**
 * Publishes one version. Idempotent: a root already present with the same size is left alone
 * (versions never change once ready, so the size is a fair witness).
 */
export async function publishVersion(p: PublishInput): Promise<PublishResult> {
  const l = flavorLayout(p.flavor);
  const dir = path.join(p.exportDir, ...publishedVersionDir(safeSegment(p.image), p.version).split('/'));
  const mediaDir = l.dir ? path.join(dir, l.dir) : dir;
  await makeDirs(mediaDir, 0o755);
  if (p.rootKind === 'iso') {
    const r = await publishLayeredIso(p.reader, dir, mediaDir, p.signal);
    if (p.kernelFile) await copyFileAtomic(p.kernelFile, path.join(mediaDir, l.kernelName));
    if (p.initrdFile) await copyFileAtomic(p.initrdFile, path.join(mediaDir, l.initrdName));
    return { dir, rootPath: r.path, bytes: r.bytes, unchanged: r.unchanged };
  }
  const rootPath = path.join(mediaDir, l.rootName);
  const unchanged = (await sizeOf(rootPath)) === p.reader.size;
  if (!unchanged) await copyReader(p.reader, rootPath, p.signal);
  if (p.kernelFile) await copyFileAtomic(p.kernelFile, path.join(mediaDir, l.kernelName));
  if (p.initrdFile) await copyFileAtomic(p.initrdFile, path.join(mediaDir, l.initrdName));
  return { dir, rootPath, bytes: p.reader.size, unchanged };
}

/** What publishing needs from the block store (src/store/store.ts BlockStore fits). */
export interface PublishStore {
  openReader(name: string, version: number): Promise<ImageReader & { row: { flavor: Flavor | null; image_flavor: Flavor; version: number; kernel_blob: string | null; initrd_blob: string | null; root_kind?: string | null } }>;
  file(rel: string): string;
}

/** Publishes NAME@VERSION from the store into exportDir (call after an import, or at start for nfs/cifs images). */
export async function publishFromStore(store: PublishStore, exportDir: string, name: string, version: number, signal?: AbortSignal): Promise<PublishResult> {
  const reader = await store.openReader(name, version);
  const row = reader.row;
  return publishVersion({
    exportDir, image: name, version: row.version, flavor: row.flavor ?? row.image_flavor, reader, rootKind: row.root_kind,
    kernelFile: row.kernel_blob ? store.file(row.kernel_blob) : undefined,
    initrdFile: row.initrd_blob ? store.file(row.initrd_blob) : undefined,
    signal,
  });
}

/**
 * Publishes every version a client could mount over nfs/cifs (model/boot-queries.ts
 * publicationCandidates). Idempotent and sequential (one squashfs at a time keeps the disk
 * and chunk cache calm); a version that fails is logged and skipped. Call it at start when
 * boot.exportDir is set, and after each import or assignment change. An aborted `signal` ends
 * the pass with its reason (AbortError) and leaves the export as it was.
 */
export async function publishNeeded(db: Db, store: PublishStore, exportDir: string, log: Logger, signal?: AbortSignal): Promise<PublishResult[]> {
  const done: PublishResult[] = [];
  for (const c of await publicationCandidates(db)) {
    signal?.throwIfAborted();
    try {
      const r = await publishFromStore(store, exportDir, c.name, c.version, signal);
      if (!r.unchanged) log.info({ image: c.name, version: c.version, dir: r.dir, bytes: r.bytes }, 'published image version for nfs/cifs');
      done.push(r);
    } catch (err) {
      if (signal?.aborted) throw err;
      log.error({ err, image: c.name, version: c.version }, 'could not publish image version');
    }
  }
  return done;
}
