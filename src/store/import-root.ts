// The first half of `image import`, which needs no database: check the name, read what the
// input is, and start chunking its root into the store. The CLI starts it before it loads the
// database and logging modules (~0.2 s of its main thread), so the chunk workers already work
// meanwhile; importer.ts then takes it over (the version row, blobs, sync, index, ready). Until
// that index is published nothing here is visible: chunks are content-addressed, and young
// ones are safe from gc's sweep by their age.
import fs from 'node:fs/promises';
import type { Config } from '../config.ts';
import type { Flavor } from '../db/schema.ts';
import { makeDirs } from '../util/make-dirs.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';
import { type ChunkerSpec, DEFAULT_CDC, chunkerSizes } from './chunker.ts';
import { ingest, type IngestProgress, type IngestResult } from './ingest.ts';
import { listIso, readLiveLayout } from './iso.ts';
import { type ImageKind, ImageInputError, classify, probeFile } from './probe.ts';
import { fileRanges, fromPieces, qcow2Size, readQcow2, readRanges, zeroPadded, type ByteReader } from './read-source.ts';
import { storeWriteError, StoreWriteError } from './store-errors.ts';
import { ChunkPool } from './worker-pool.ts';
import { openStoreSync, type StoreSync } from './store-sync.ts';

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

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface RootImportOptions {
  file: string;
  name: string;
  kernel?: string | undefined;
  initrd?: string | undefined;
  chunker?: ChunkerSpec | undefined;
}

/** What the input is and where its parts come from. */
export interface Plan {
  rootKind: string;
  rootFile: string;
  /** The flavor the input's layout names (an ISO's), else custom. */
  layoutFlavor: Flavor;
  /** A layered casper ISO (Ubuntu 23.10+): only casper's initramfs boots it. */
  casperOnly: boolean;
  size: number;
  root: () => ByteReader;
  kernel?: () => AsyncIterable<Uint8Array>;
  initrd?: () => AsyncIterable<Uint8Array>;
}

async function plan(opts: RootImportOptions): Promise<Plan> {
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
      rootKind: layout.rootKind, rootFile: layout.rootFile, layoutFlavor: layout.flavor, casperOnly: Boolean(layout.casper), size: layout.root.size,
      root: () => fileRanges(opts.file, layout.root.extents),
      kernel: side.kernel ?? (() => readRanges(opts.file, layout.kernel.extents)),
      initrd: side.initrd ?? (() => readRanges(opts.file, layout.initrd.extents)),
    };
  }
  const side = await sideFiles();
  if (probe.kind === 'qcow2') {
    const size = await qcow2Size(opts.file);
    return { rootKind: 'disk', rootFile: 'root.img', layoutFlavor: 'custom', casperOnly: false, size, root: () => fromPieces(readQcow2(opts.file, size)), ...side };
  }
  const kind: ImageKind = probe.kind;
  const rootFile = kind === 'squashfs' ? 'filesystem.squashfs' : 'root.img';
  return { rootKind: kind, rootFile, layoutFlavor: 'custom', casperOnly: false, size: probe.size, root: () => fileRanges(opts.file, [{ start: 0, length: probe.size }]), ...side };
}

/**
 * The flavor a version is imported as: `want` (named, or the image's declared one), else the
 * input's layout's. live-boot or dracut would look for live/ or LiveOS/ in a layered casper ISO
 * and stop at boot.
 */
export function importFlavor(p: Plan, file: string, want: Flavor | undefined): Flavor {
  if (p.casperOnly && want && want !== 'casper' && want !== 'custom') {
    throw new ImageInputError(`${file}: a layered casper ISO (Ubuntu 23.10+) boots only with casper's initramfs, not as ${want}: import it with --flavor casper`);
  }
  return want ?? p.layoutFlavor;
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

export interface RootImport {
  /** When the import began (Date.now()). */
  readonly startedAt: number;
  readonly plan: Plan;
  readonly spec: ChunkerSpec;
  /** Zero bytes after the image (see padding()). */
  readonly pad: number;
  /** The store's folder. */
  readonly store: string;
  /** Every chunk of the root written (not yet on disk: flush()); the reader has closed the input. */
  readonly chunks: Promise<IngestResult>;
  /** Progress of the chunking from now on, starting with the latest figures. */
  follow(cb: (p: IngestProgress) => void): void;
  /** Everything written to the store is on disk. */
  flush(): Promise<void>;
  /** Stops the chunking if it still runs and waits for its threads and files to close (once; later calls wait for the same). */
  close(): Promise<void>;
}

/** Checks the name and the input and starts chunking the root; rejects with ImageInputError or StoreWriteError. */
export async function startRootImport(config: Pick<Config, 'store'>, opts: RootImportOptions): Promise<RootImport> {
  const startedAt = Date.now();
  if (!NAME_RE.test(opts.name)) throw new ImageInputError(`image name "${opts.name}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  const p = await plan(opts);
  const spec = opts.chunker ?? defaultChunker(p.rootKind);
  const store = config.store.path;
  await makeDirs(store).catch((err: unknown) => {
    throw storeWriteError(err, store, () => 'nothing was imported') ?? new StoreWriteError(`the store ${store} cannot be created: ${errorMessage(err)}`, errnoCode(err) ?? 'EIO');
  });
  const sync: StoreSync = await openStoreSync(store);
  let pool: ChunkPool;
  try {
    pool = new ChunkPool(store, config.store.zstdLevel, config.store.workers, chunkerSizes(spec)[2]);
  } catch (err) {
    await sync.close();
    throw err;
  }
  const pad = padding(p.rootKind, p.size);
  let latest: IngestProgress = { bytesDone: 0, chunksTotal: 0, chunksNew: 0, bytesNew: 0 };
  let follower: ((p: IngestProgress) => void) | undefined;
  const chunks = ingest(zeroPadded(p.root(), pad), spec, pool, (s) => {
    sync.wrote(s.bytesNew);
    latest = s;
    follower?.(s);
  });
  let settled = false;
  let closing: Promise<void> | undefined;
  const close = async () => {
    // A reader waiting for a free block would wait for ever once nobody takes the chunks.
    if (!settled) pool.abort(new Error('the import was stopped'));
    await chunks.catch(() => {});
    await Promise.all([pool.close(), sync.close()]);
  };
  // Every chunk is written: the workers' teardown (their heaps freed) overlaps the sync after it.
  // A failure waits for whoever takes the chunks over (or for close()).
  chunks.then(() => { settled = true; pool.close().catch(() => {}); }, () => { settled = true; });
  return {
    startedAt, plan: p, spec, pad, store, chunks,
    follow(cb) {
      follower = cb;
      cb(latest);
    },
    flush: () => sync.flush(),
    close: () => closing ??= close(),
  };
}
