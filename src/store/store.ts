// The block store as the serving side sees it: name + version → a random-access reader, the
// list of exports, blob files. HTTP routes and the NBD server share one instance (and so one
// cache of decompressed chunks).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { type CaibxIndex, decodeIndex } from './caibx.ts';
import { type ChunkSource, createChunkSource } from './chunk-source.ts';
import { IndexReader } from './reader.ts';
import { type VersionRef, nbdExportName } from './urls.ts';
import { type VersionRow, listVersions, resolveVersion } from '../model/image-versions.ts';

export { IndexReader } from './reader.ts';
export { CorruptChunkError, MissingChunkError } from './chunk-source.ts';

export class NotFoundError extends Error {
  readonly code = 'ENOENT';
}

export interface StoreReader extends IndexReader {
  readonly row: VersionRow;
}

export interface ExportInfo {
  /** NBD export name: NAME (current version) or NAME@VERSION. */
  exportName: string;
  name: string;
  version: number;
  /** True for the NAME export that follows the current version. */
  current: boolean;
  size: number;
  description: string;
}

export interface BlockStore {
  readonly root: string;
  readonly chunks: ChunkSource;
  /** The ready version NAME@ref; throws NotFoundError when there is none. */
  resolve(name: string, ref: VersionRef): Promise<VersionRow>;
  /** A reader over a ready version. Readers are cached per version; the index is parsed once. */
  openReader(name: string, ref: VersionRef): Promise<StoreReader>;
  /** Like openReader, by NBD export name (NAME or NAME@VERSION). */
  openExport(exportName: string): Promise<StoreReader>;
  /** Every NBD export: one per image (its current version) and one per ready version. */
  listExports(): Promise<ExportInfo[]>;
  /** Absolute path of a store-relative file (index_file, kernel_blob, initrd_blob). */
  file(rel: string): string;
  /** Forgets cached readers (after `image remove`). */
  invalidate(): void;
}

export function openStore(config: Pick<Config, 'store' | 'nbd'>, db: Db, log: Logger): BlockStore {
  const root = config.store.path;
  const chunks = createChunkSource(root, config.nbd.cacheMB * 1024 * 1024, log.child({ svc: 'store' }));
  const indexes = new Map<number, Promise<CaibxIndex>>();

  async function loadIndex(row: VersionRow): Promise<CaibxIndex> {
    let p = indexes.get(row.id);
    if (!p) {
      if (!row.index_file) throw new NotFoundError(`${row.name}@${row.version} has no index`);
      p = fs.readFile(path.join(root, row.index_file)).then(decodeIndex);
      p.catch(() => indexes.delete(row.id));
      indexes.set(row.id, p);
    }
    return p;
  }

  const store: BlockStore = {
    root,
    chunks,
    async resolve(name, ref) {
      const row = await resolveVersion(db, name, ref);
      if (!row) throw new NotFoundError(`no ready version ${name}@${ref}`);
      return row;
    },
    async openReader(name, ref) {
      const row = await store.resolve(name, ref);
      const index = await loadIndex(row);
      return Object.assign(new IndexReader(index, chunks), { row });
    },
    openExport(exportName) {
      const at = exportName.lastIndexOf('@');
      if (at > 0 && /^[1-9]\d{0,8}$/.test(exportName.slice(at + 1))) {
        return store.openReader(exportName.slice(0, at), Number(exportName.slice(at + 1)));
      }
      return store.openReader(exportName, 'current');
    },
    async listExports() {
      const rows = (await listVersions(db)).filter((r) => r.state === 'ready');
      const out: ExportInfo[] = [];
      const byName = new Map<string, VersionRow[]>();
      for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
      for (const [name, versions] of byName) {
        const cur = await resolveVersion(db, name, 'current');
        if (cur) out.push({ exportName: nbdExportName(name, 'current'), name, version: cur.version, current: true, size: cur.size_bytes, description: `${name} (current: version ${cur.version})` });
        for (const r of versions) out.push({ exportName: nbdExportName(name, r.version), name, version: r.version, current: false, size: r.size_bytes, description: `${name} version ${r.version}` });
      }
      return out;
    },
    file: (rel) => path.join(root, rel),
    invalidate: () => indexes.clear(),
  };
  return store;
}

const shared = new WeakMap<Db, BlockStore>();

/** The one store per database: HTTP routes and the NBD server share it, and so its chunk cache. */
export function sharedStore(ctx: { config: Pick<Config, 'store' | 'nbd'>; db: Db; log: Logger }): BlockStore {
  let s = shared.get(ctx.db);
  if (!s) {
    s = openStore(ctx.config, ctx.db, ctx.log);
    shared.set(ctx.db, s);
  }
  return s;
}
