// `image import`: probe the input, stream its root into the store, store kernel/initrd blobs,
// then publish: flush the store, write the index (temp + rename), and only then mark the
// version ready. Until that last step the version is 'importing' and invisible to every reader,
// so kill -9 at any point leaves no visible version; chunks already written are reused next time.
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.ts';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { Flavor } from '../db/schema.ts';
import { storeBlob } from './blobs.ts';
import { type ChunkerSpec, DEFAULT_CDC, chunkerLabel, chunkerSizes } from './chunker.ts';
import { ingest } from './ingest.ts';
import { listIso, readLiveLayout } from './iso.ts';
import { indexRelPath, TMP_SUFFIX } from './layout.ts';
import { type ImageKind, ImageInputError, classify, probeFile } from './probe.ts';
import { fileRanges, fromPieces, qcow2Size, readQcow2, readRanges, zeroPadded, type ByteReader } from './read-source.ts';
import { isSpaceError, storeWriteError, StoreWriteError } from './store-errors.ts';
import { ChunkPool } from './worker-pool.ts';
import { openStoreSync, type StoreSync } from './store-sync.ts';
import { createVersion, markFailed, markReady, updateImporting } from '../model/image-versions.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';


export interface ImportProgress {
  phase: 'root' | 'blobs' | 'publish' | 'done';
  name: string;
  version: number;
  bytesDone: number;
  bytesTotal: number;
  chunksTotal: number;
  chunksNew: number;
  bytesNew: number;
}

export interface ImportOptions {
  file: string;
  name: string;
  flavor?: Flavor | undefined;
  kernel?: string | undefined;
  initrd?: string | undefined;
  chunker?: ChunkerSpec | undefined;
  onProgress?: ((p: ImportProgress) => void) | undefined;
}

export interface ImportResult {
  name: string;
  version: number;
  sizeBytes: number;
  rootKind: string;
  rootFile: string;
  flavor: Flavor;
  chunker: string;
  chunksTotal: number;
  chunksNew: number;
  bytesNew: number;
  bytesStored: number;
  /** Image bytes ÷ compressed bytes of its distinct chunks. */
  compressionRatio: number;
  indexFile: string;
  kernelBlob: string | null;
  initrdBlob: string | null;
  seconds: number;
}

/**
 * The default chunker per image kind, decided by bench/store's update deltas (src/store/README.md,
 * "Default chunker"): the goal is to add no more than `casync make` (content-defined by default)
 * for the same change. Our CDC cuts exactly where casync does, so it meets that for in-place
 * overwrites (ext4: 4.263 vs 4.264 MB) and rebuilds (ext4 5.583 vs 5.586, squashfs, ISO) alike;
 * fixed 256 KiB blocks lose on every rebuild (ext4 +239 kB, squashfs 25×) and win only a little on
 * in-place writes. Disks (and qcow2, converted to one) and unrecognised raw images get rebuilt as
 * well, so they follow. Fixed stays available (--chunker fixed) for casync-identical fixed indexes.
 */
const DEFAULT_BY_KIND: Record<string, ChunkerSpec> = {
  ext4: DEFAULT_CDC,
  squashfs: DEFAULT_CDC,
  'iso-squashfs': DEFAULT_CDC,
  disk: DEFAULT_CDC,
  raw: DEFAULT_CDC,
};

export function defaultChunker(kind: string): ChunkerSpec {
  return DEFAULT_BY_KIND[kind] ?? DEFAULT_CDC;
}

/** The version row left 'importing' under the import (gc took it for dead): nothing may be published. */
export class ImportAbandonedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportAbandonedError';
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface Plan {
  rootKind: string;
  rootFile: string;
  flavor: Flavor;
  size: number;
  root: () => ByteReader;
  kernel?: () => AsyncIterable<Uint8Array>;
  initrd?: () => AsyncIterable<Uint8Array>;
}

async function plan(opts: ImportOptions): Promise<Plan> {
  const probe = await probeFile(opts.file);
  const sideFiles = async () => {
    const out: Partial<Pick<Plan, 'kernel' | 'initrd'>> = {};
    for (const which of ['kernel', 'initrd'] as const) {
      const f = opts[which];
      if (!f) continue;
      const st = await fs.stat(f).catch(() => undefined);
      if (!st?.isFile()) throw new ImageInputError(`--${which} ${f}: no such file`);
      if (st.size === 0) throw new ImageInputError(`--${which} ${f}: the file is empty`);
      out[which] = () => readRanges(f, [{ start: 0, length: st.size }]);
    }
    return out;
  };
  if (probe.kind === 'iso') {
    const files = await listIso(opts.file);
    const layout = await readLiveLayout(opts.file, files, probe.size);
    // live-boot or dracut would look for live/ or LiveOS/ in the ISO and stop at boot.
    if (layout.casper && opts.flavor && opts.flavor !== 'casper' && opts.flavor !== 'custom') {
      throw new ImageInputError(`${opts.file}: a layered casper ISO (Ubuntu 23.10+) boots only with casper's initramfs, not as ${opts.flavor}: import it with --flavor casper`);
    }
    // The squashfs inside must itself be whole; for a layered casper ISO, every layer casper mounts.
    const inner = layout.casper ? layout.casper.files.filter((f) => !layout.casper!.chain || layout.casper!.chain.includes(f.path.slice('/casper/'.length))) : [layout.root];
    const fh = await fs.open(opts.file, 'r');
    try {
      for (const f of inner) {
        const head = Buffer.alloc(Math.min(65536, f.size));
        await fh.read(head, 0, head.length, f.extents[0]?.start ?? 0);
        const kind = classify(head, f.size, `${opts.file}:${f.path}`).kind;
        if (kind !== 'squashfs') throw new ImageInputError(`${opts.file}: ${f.path} is not a squashfs (found ${kind})`);
      }
    } finally { await fh.close(); }
    const side = await sideFiles();
    return {
      rootKind: layout.rootKind, rootFile: layout.rootFile, flavor: opts.flavor ?? layout.flavor, size: layout.root.size,
      root: () => fileRanges(opts.file, layout.root.extents),
      kernel: side.kernel ?? (() => readRanges(opts.file, layout.kernel.extents)),
      initrd: side.initrd ?? (() => readRanges(opts.file, layout.initrd.extents)),
    };
  }
  const side = await sideFiles();
  if (probe.kind === 'qcow2') {
    const size = await qcow2Size(opts.file);
    return { rootKind: 'disk', rootFile: 'root.img', flavor: opts.flavor ?? 'custom', size, root: () => fromPieces(readQcow2(opts.file, size)), ...side };
  }
  const kind: ImageKind = probe.kind;
  const rootFile = kind === 'squashfs' ? 'filesystem.squashfs' : 'root.img';
  return { rootKind: kind, rootFile, flavor: opts.flavor ?? 'custom', size: probe.size, root: () => fileRanges(opts.file, [{ start: 0, length: probe.size }]), ...side };
}

/**
 * Images whose file system records its own length are padded with zeros to a multiple of 4 KiB:
 * qemu and the kernel's NBD client round a size up (qemu to 512 B and zero-fills), so a padded
 * image reads the same through every door. Raw files of unknown content keep their exact size.
 */
const PAD = 4096;
function padding(kind: string, size: number): number {
  // A whole ISO is served as the file itself (casper's url= downloads it; no NBD client mounts it).
  return kind === 'raw' || kind === 'iso' || size % PAD === 0 ? 0 : PAD - (size % PAD);
}

/** Writes `data` to `dest` so it appears whole or not at all, and survives power loss once returned. */
async function publishFile(dest: string, data: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;
  const fh = await fs.open(tmp, 'w');
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, dest);
  } catch (err) {
    // A full disk: the part written would stay (hidden, but taking space) until gc.
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  const dir = await fs.open(path.dirname(dest), 'r');
  try { await dir.sync(); } finally { await dir.close(); }
}

export async function importImage(env: { config: Pick<Config, 'store'>; db: Db; log: Logger }, opts: ImportOptions): Promise<ImportResult> {
  const started = Date.now();
  if (!NAME_RE.test(opts.name)) throw new ImageInputError(`image name "${opts.name}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  // A new version of a declared image keeps the image's flavor unless one is named: plan() calls
  // an ext4 or raw root "custom", and a dracut image's update then booted with no root= at all.
  const declared = opts.flavor ?? (await env.db.selectFrom('images').select('flavor').where('name', '=', opts.name).executeTakeFirst())?.flavor;
  const p = await plan({ ...opts, flavor: declared === 'custom' ? opts.flavor : declared });
  const spec = opts.chunker ?? defaultChunker(p.rootKind);
  const root = env.config.store.path;
  await makeDirs(root).catch((err: unknown) => {
    throw storeWriteError(err, root, () => 'nothing was imported') ?? new StoreWriteError(`the store ${root} cannot be created: ${errorMessage(err)}`, errnoCode(err) ?? 'EIO');
  });
  const row = await createVersion(env.db, { name: opts.name, flavor: p.flavor, source: path.resolve(opts.file), rootKind: p.rootKind, rootFile: p.rootFile, chunker: chunkerLabel(spec) });
  const log = env.log.child({ image: opts.name, version: row.version });
  log.info({ file: opts.file, kind: p.rootKind, size: p.size, chunker: chunkerLabel(spec) }, 'import started');
  const pad = padding(p.rootKind, p.size);
  const progress = (phase: ImportProgress['phase'], s: { bytesDone: number; chunksTotal: number; chunksNew: number; bytesNew: number }) =>
    opts.onProgress?.({ phase, name: opts.name, version: row.version, bytesTotal: p.size + pad, ...s });
  const pool = new ChunkPool(root, env.config.store.zstdLevel, env.config.store.workers, chunkerSizes(spec)[2]);
  let durable: StoreSync | undefined;
  // The heartbeat lets `store gc` tell a live import from one that was killed, until the version
  // is ready: the blobs, the store's sync and the index come after the chunks, and gc takes an
  // import silent for 10 minutes for dead (and its young chunks for unreferenced).
  const beat = setInterval(() => { updateImporting(env.db, row.id, {}).catch(() => {}); }, 60_000);
  try {
    const sync = durable = await openStoreSync(root);
    const r = await ingest(zeroPadded(p.root(), pad), spec, pool, (s) => {
      sync.wrote(s.bytesNew);
      progress('root', s);
    });
    if (r.size !== p.size + pad) throw new ImageInputError(`${opts.file}: read ${r.size - pad} bytes, expected ${p.size}`);
    if (r.size === 0) throw new ImageInputError(`${opts.file}: the image is empty`);
    // Every chunk is written: the workers' teardown (their heaps freed) overlaps the sync below.
    pool.close().catch(() => {});
    const counts = { bytesDone: r.size, chunksTotal: r.chunksTotal, chunksNew: r.chunksNew, bytesNew: r.bytesNew };
    progress('blobs', counts);
    const kernel = p.kernel ? await storeBlob(root, p.kernel()) : undefined;
    const initrd = p.initrd ? await storeBlob(root, p.initrd()) : undefined;
    progress('publish', counts);
    await sync.flush();
    const indexFile = indexRelPath(row.imageId, row.version);
    await publishFile(path.join(root, indexFile), r.index);
    const published = await markReady(env.db, row.id, {
      indexFile, sizeBytes: r.size, kernelBlob: kernel?.rel, initrdBlob: initrd?.rel, chunker: chunkerLabel(spec),
      chunksTotal: r.chunksTotal, chunksNew: r.chunksNew, bytesStored: r.bytesStored, bytesNew: r.bytesNew,
    });
    if (!published) {
      // gc took this import for dead (no heartbeat for 10 minutes: a stopped or starved process)
      // and may have removed its young chunks: publishing now would serve holes.
      await fs.rm(path.join(root, indexFile), { force: true });
      throw new ImportAbandonedError(`${opts.name}@${row.version} was marked failed while it was importing (store gc found it silent for 10 minutes); nothing was published: import again`);
    }
    progress('done', counts);
    const result: ImportResult = {
      name: opts.name, version: row.version, sizeBytes: r.size, rootKind: p.rootKind, rootFile: p.rootFile, flavor: p.flavor,
      chunker: chunkerLabel(spec), chunksTotal: r.chunksTotal, chunksNew: r.chunksNew, bytesNew: r.bytesNew, bytesStored: r.bytesStored,
      compressionRatio: r.bytesStored ? r.size / r.bytesStored : 0, indexFile, kernelBlob: kernel?.rel ?? null, initrdBlob: initrd?.rel ?? null,
      seconds: (Date.now() - started) / 1000,
    };
    // The child logger already says which image and version: pino would write those keys twice.
    const { name: _name, version: _version, ...figures } = result;
    log.info(figures, 'import finished');
    return result;
  } catch (caught) {
    const err = storeWriteError(caught, root, (code) =>
      `${opts.name}@${row.version} was not published (earlier versions are served as before); ${isSpaceError(code) ? 'free space' : 'fix that'} and import again: the chunks written so far are reused`) ?? caught;
    await markFailed(env.db, row.id, errorMessage(err)).catch(() => {});
    log.error({ err: errorMessage(err), cause: err === caught ? undefined : errorMessage(caught) }, 'import failed');
    throw err;
  } finally {
    clearInterval(beat);
    await Promise.all([pool.close(), durable?.close()]);
  }
}
