// Image versions: one row per import. A version is visible to readers (HTTP, NBD, planner)
// only once it is 'ready'; the importer creates it 'importing' and publishes its index before
// flipping it, so an interrupted import never shows.
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import type { Flavor, VersionState } from '../db/schema.ts';
import type { VersionRef } from '../store/urls.ts';

export interface VersionRow {
  id: number;
  image_id: number;
  name: string;
  version: number;
  state: VersionState;
  flavor: Flavor | null;
  image_flavor: Flavor;
  current_version: number | null;
  source: string;
  root_kind: string | null;
  root_file: string | null;
  size_bytes: number;
  index_file: string | null;
  kernel_blob: string | null;
  initrd_blob: string | null;
  chunker: string | null;
  chunks_total: number;
  chunks_new: number;
  bytes_stored: number;
  bytes_new: number;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function baseQuery(db: Db) {
  return db.selectFrom('image_versions as v')
    .innerJoin('images as i', 'i.id', 'v.image_id')
    .select([
      'v.id', 'v.image_id', 'i.name', 'v.version', 'v.state', 'v.flavor', 'i.flavor as image_flavor', 'i.current_version',
      'v.source', 'v.root_kind', 'v.root_file', 'v.size_bytes', 'v.index_file', 'v.kernel_blob', 'v.initrd_blob', 'v.chunker',
      'v.chunks_total', 'v.chunks_new', 'v.bytes_stored', 'v.bytes_new', 'v.error', 'v.created_at', 'v.updated_at',
    ]);
}

export interface NewVersion {
  name: string;
  flavor?: Flavor | undefined;
  source: string;
  rootKind?: string | undefined;
  rootFile?: string | undefined;
  chunker: string;
}

/** Creates the image if the name is new and a version numbered after every earlier one (removed ones too, so a number never means two things). */
/** A new version's row: its id, its image's id, its number. */
export interface CreatedVersion {
  imageId: number;
  version: number;
  id: number;
}

export async function createVersion(db: Db, v: NewVersion, now = Date.now()): Promise<CreatedVersion> {
  return db.transaction().execute(async (tx) => {
    // Write first: SQLite then takes the write lock before reading anything, waiting (busy_timeout)
    // for another writer. Read-then-write failed at once with "database is locked" whenever another
    // process (a second import of the same name, serve's lease writes) committed in between.
    await tx.insertInto('images')
      .values({ name: v.name, flavor: v.flavor ?? 'custom', created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing()).execute();
    const image = await tx.selectFrom('images').select(['id']).where('name', '=', v.name).executeTakeFirstOrThrow();
    const last = await tx.selectFrom('image_versions').select(sql<number>`coalesce(max(version), 0)`.as('n'))
      .where('image_id', '=', image.id).executeTakeFirstOrThrow();
    const version = Number(last.n) + 1;
    const row = await tx.insertInto('image_versions').values({
      image_id: image.id, version, state: 'importing', flavor: v.flavor ?? null, source: v.source,
      root_kind: v.rootKind ?? null, root_file: v.rootFile ?? null, chunker: v.chunker, created_at: now, updated_at: now,
    }).returning(['id']).executeTakeFirstOrThrow();
    return { imageId: image.id, version, id: row.id };
  });
}

export interface ReadyFacts {
  indexFile: string;
  sizeBytes: number;
  kernelBlob?: string | null | undefined;
  initrdBlob?: string | null | undefined;
  flavor?: Flavor | undefined;
  rootKind?: string | undefined;
  rootFile?: string | undefined;
  chunker: string;
  chunksTotal: number;
  chunksNew: number;
  bytesStored: number;
  bytesNew: number;
}

/** False when the row is no longer 'importing' (gc took the import for dead, or it was removed): nothing is published. */
export async function markReady(db: Db, id: number, f: ReadyFacts, now = Date.now()): Promise<boolean> {
  const r = await db.updateTable('image_versions').set({
    state: 'ready', index_file: f.indexFile, size_bytes: f.sizeBytes, kernel_blob: f.kernelBlob ?? null, initrd_blob: f.initrdBlob ?? null,
    ...(f.flavor && { flavor: f.flavor }), ...(f.rootKind && { root_kind: f.rootKind }), ...(f.rootFile && { root_file: f.rootFile }),
    chunker: f.chunker, chunks_total: f.chunksTotal, chunks_new: f.chunksNew, bytes_stored: f.bytesStored, bytes_new: f.bytesNew,
    error: null, updated_at: now,
  }).where('id', '=', id).where('state', '=', 'importing').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Sets facts known before the data is in (kind, flavor, root file name) while still importing. */
export async function updateImporting(db: Db, id: number, f: { flavor?: Flavor; rootKind?: string; rootFile?: string }, now = Date.now()): Promise<void> {
  await db.updateTable('image_versions').set({
    ...(f.flavor && { flavor: f.flavor }), ...(f.rootKind && { root_kind: f.rootKind }), ...(f.rootFile && { root_file: f.rootFile }), updated_at: now,
  }).where('id', '=', id).execute();
}

export async function markFailed(db: Db, id: number, error: string, now = Date.now()): Promise<void> {
  await db.updateTable('image_versions').set({ state: 'failed', error: error.slice(0, 2000), updated_at: now }).where('id', '=', id).execute();
}

export async function markRemoved(db: Db, id: number, now = Date.now()): Promise<void> {
  await db.updateTable('image_versions').set({ state: 'removed', updated_at: now }).where('id', '=', id).execute();
}

/**
 * The version an import of `source` as `name` created, if still importing, marked failed: an
 * import stopped by a signal (CLI) or by serve's shutdown (jobs). A query, not a call: the CLI's
 * signal handler runs it synchronously (better-sqlite3) just before the process exits.
 * `createdSince` keeps another process's import of the same file out of it.
 */
export function failInterruptedImport(db: Db, name: string, source: string, why: string, createdSince = 0, now = Date.now()) {
  return db.updateTable('image_versions').set({ state: 'failed', error: why, updated_at: now })
    .where('state', '=', 'importing').where('source', '=', source).where('created_at', '>=', createdSince)
    .where('image_id', '=', db.selectFrom('images').select('id').where('name', '=', name))
    .returning('version');
}

/** Imports that were cut off (kill -9, power loss): 'importing' rows last touched before `before`. */
export async function failStaleImports(db: Db, before: number, now = Date.now()): Promise<number> {
  const r = await db.updateTable('image_versions').set({ state: 'failed', error: 'import interrupted', updated_at: now })
    .where('state', '=', 'importing').where('updated_at', '<', before).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export function listVersions(db: Db, opts: { includeRemoved?: boolean; name?: string } = {}): Promise<VersionRow[]> {
  let q = baseQuery(db);
  if (!opts.includeRemoved) q = q.where('v.state', '!=', 'removed');
  if (opts.name !== undefined) q = q.where('i.name', '=', opts.name);
  return q.orderBy('i.name').orderBy('v.version').execute() as Promise<VersionRow[]>;
}

/** Every version whose index must keep its chunks: ready and importing ones (gc must not eat an import in flight). */
export function versionsHoldingChunks(db: Db): Promise<VersionRow[]> {
  return baseQuery(db).where('v.state', 'in', ['ready', 'importing']).execute() as Promise<VersionRow[]>;
}

/**
 * NAME + version number or 'current' → the ready version row. 'current' is images.current_version
 * when set (and ready), else the newest ready version.
 */
export async function resolveVersion(db: Db, name: string, ref: VersionRef): Promise<VersionRow | undefined> {
  if (ref !== 'current') {
    return (await baseQuery(db).where('i.name', '=', name).where('v.version', '=', ref).where('v.state', '=', 'ready').executeTakeFirst()) as VersionRow | undefined;
  }
  const image = await db.selectFrom('images').select(['id', 'current_version']).where('name', '=', name).executeTakeFirst();
  if (!image) return undefined;
  let q = baseQuery(db).where('v.image_id', '=', image.id).where('v.state', '=', 'ready');
  if (image.current_version !== null) q = q.where('v.version', '=', image.current_version);
  return (await q.orderBy('v.version', 'desc').limit(1).executeTakeFirst()) as VersionRow | undefined;
}

export async function getVersion(db: Db, name: string, version: number): Promise<VersionRow | undefined> {
  return (await baseQuery(db).where('i.name', '=', name).where('v.version', '=', version).executeTakeFirst()) as VersionRow | undefined;
}

/** Parses "NAME@3" / "NAME@current" / "NAME". */
export function parseVersionRef(s: string): { name: string; ref: VersionRef } | undefined {
  const at = s.lastIndexOf('@');
  if (at < 0) return s ? { name: s, ref: 'current' } : undefined;
  const name = s.slice(0, at);
  const v = s.slice(at + 1);
  if (!name) return undefined;
  if (v === 'current') return { name, ref: 'current' };
  if (!/^[1-9]\d{0,8}$/.test(v)) return undefined;
  return { name, ref: Number(v) };
}
