// `image import`: the root chunked into the store (import-root.ts), kernel/initrd blobs,
// then publish: flush the store, write the index (temp + rename), and only then mark the
// version ready. Until that last step the version is 'importing' and invisible to every reader,
// so kill -9 at any point leaves no visible version; chunks already written are reused next time.
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { Flavor } from '../db/schema.ts';
import { storeBlob } from './blobs.ts';
import { type ChunkerSpec, chunkerLabel } from './chunker.ts';
import { importFlavor, startRootImport, type RootImport } from './import-root.ts';
import { indexRelPath, TMP_SUFFIX } from './layout.ts';
import { ImageInputError } from './probe.ts';
import { isSpaceError, storeWriteError } from './store-errors.ts';
import { createVersion, markFailed, markReady, updateImporting, type CreatedVersion } from '../model/image-versions.ts';
import { errorMessage } from '../util/errors.ts';


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

/** The version row left 'importing' under the import (gc took it for dead): nothing may be published. */
export class ImportAbandonedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportAbandonedError';
  }
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

/**
 * `head`: the root import already started (import-root.ts; the CLI starts it while its database
 * modules load). This call owns it from then on and closes it, whatever happens.
 */
export async function importImage(env: { config: Pick<Config, 'store'>; db: Db; log: Logger }, opts: ImportOptions, head?: Promise<RootImport>): Promise<ImportResult> {
  let run: RootImport | undefined;
  try {
    // A new version of a declared image keeps the image's flavor unless one is named: the input's
    // layout calls an ext4 or raw root "custom", and a dracut image's update then booted with no root= at all.
    const declared = opts.flavor ?? (await env.db.selectFrom('images').select('flavor').where('name', '=', opts.name).executeTakeFirst())?.flavor;
    run = await (head ?? startRootImport(env.config, opts));
    const flavor = importFlavor(run.plan, opts.file, declared === 'custom' ? opts.flavor : declared);
    const row = await createVersion(env.db, { name: opts.name, flavor, source: path.resolve(opts.file), rootKind: run.plan.rootKind, rootFile: run.plan.rootFile, chunker: chunkerLabel(run.spec) });
    return await finish(env, opts, run, row, flavor);
  } finally {
    // After a failure, the chunking may still run (a start nobody took over, or a flavor refused).
    await (run ?? await head?.catch(() => undefined))?.close();
  }
}

/** The second half, on the version row: the root's chunks, blobs, sync, index, ready. */
async function finish(env: { db: Db; log: Logger }, opts: ImportOptions, run: RootImport, row: CreatedVersion, flavor: Flavor): Promise<ImportResult> {
  const { plan: p, spec, pad, store: root } = run;
  const log = env.log.child({ image: opts.name, version: row.version });
  log.info({ file: opts.file, kind: p.rootKind, size: p.size, chunker: chunkerLabel(spec) }, 'import started');
  const progress = (phase: ImportProgress['phase'], s: { bytesDone: number; chunksTotal: number; chunksNew: number; bytesNew: number }) =>
    opts.onProgress?.({ phase, name: opts.name, version: row.version, bytesTotal: p.size + pad, ...s });
  // The heartbeat lets `store gc` tell a live import from one that was killed, until the version
  // is ready: the blobs, the store's sync and the index come after the chunks, and gc takes an
  // import silent for 10 minutes for dead (and its young chunks for unreferenced).
  const beat = setInterval(() => { updateImporting(env.db, row.id, {}).catch(() => {}); }, 60_000);
  try {
    run.follow((s) => progress('root', s));
    const r = await run.chunks;
    if (r.size !== p.size + pad) throw new ImageInputError(`${opts.file}: read ${r.size - pad} bytes, expected ${p.size}`);
    if (r.size === 0) throw new ImageInputError(`${opts.file}: the image is empty`);
    const counts = { bytesDone: r.size, chunksTotal: r.chunksTotal, chunksNew: r.chunksNew, bytesNew: r.bytesNew };
    progress('blobs', counts);
    const kernel = p.kernel ? await storeBlob(root, p.kernel()) : undefined;
    const initrd = p.initrd ? await storeBlob(root, p.initrd()) : undefined;
    progress('publish', counts);
    await run.flush();
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
      name: opts.name, version: row.version, sizeBytes: r.size, rootKind: p.rootKind, rootFile: p.rootFile, flavor,
      chunker: chunkerLabel(spec), chunksTotal: r.chunksTotal, chunksNew: r.chunksNew, bytesNew: r.bytesNew, bytesStored: r.bytesStored,
      compressionRatio: r.bytesStored ? r.size / r.bytesStored : 0, indexFile, kernelBlob: kernel?.rel ?? null, initrdBlob: initrd?.rel ?? null,
      seconds: (Date.now() - run.startedAt) / 1000,
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
  }
}
