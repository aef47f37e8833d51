// Putting a backup in place of the database, the steps an operator copying files by hand gets
// wrong: a serve still running on the old file (it keeps writing the inode it has open, or a
// copy over it tears the file under it); a stale branchboot.db-wal left beside the new file,
// which SQLite would replay onto it (a WAL names no database: its pages land on the wrong one);
// a file that is not a backup, cut short, or newer than this build, found only after it has
// replaced the good one; and a database naming versions the store copy lacks.
//
// The backup is copied to a temp file beside the database and checked, migrated and trimmed
// there; the old database (with its WAL, if a crash left one) is renamed aside, not deleted.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from '../db/kysely.ts';
import type { DB } from '../db/schema.ts';
import { loadMigrations, migrate } from '../db/migrate.ts';
import { lockDataDir } from '../data-dir-lock.ts';
import { makeDirsSync } from '../util/make-dirs.ts';
import { UserError, errorMessage } from '../util/errors.ts';
import { readFacts, type DbFacts } from './facts.ts';
import { checkBackupContent, checkBackupHeader } from './inspect.ts';
import { checkStoreHolds, type StoreCheck } from './store-check.ts';
import { recordRestore } from '../model/restores.ts';
import { fsyncDir, fsyncFile, tempBeside } from './durable.ts';

export interface RestoreOptions {
  /** The backup file, or - for stdin (a backup kept compressed: zstd -dc FILE | branchboot restore -). */
  file: string;
  database: string;
  dataDir: string;
  storePath: string;
  /** Restore even when the store lacks what some versions need. */
  allowMissing: boolean;
  /** Where FILE `-` is read from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Told the temp file's name; the returned function forgets it (an interrupt hook removes it meanwhile). */
  onTemp?: (tmp: string) => () => void;
}

export interface RestoreResult {
  facts: DbFacts;
  /** The backup's schema version before migration. */
  fromVersion: number;
  /** Versions an import was writing when the backup was taken, now failed. */
  importsFailed: number;
  store: StoreCheck;
  /** Where the database that was there went. */
  aside?: string;
  /** A WAL with no database beside it, moved out of the way. */
  staleWal?: string;
}

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export async function restoreDatabase(o: RestoreOptions): Promise<RestoreResult> {
  const fromStdin = o.file === '-';
  const name = fromStdin ? 'stdin' : o.file;
  if (!fromStdin) {
    checkBackupHeader(o.file);
    for (const s of ['-wal', '-journal']) {
      // A live database's file copied alone: its last commits may be in the WAL beside it.
      if (fs.existsSync(`${o.file}${s}`)) throw new UserError(`restore: ${o.file}${s} exists beside ${o.file}: that is a database in use or left by a crash, not a backup; take one with \`branchboot backup\` (or open it once with serve so SQLite folds it in)`);
    }
    if (path.resolve(o.file) === path.resolve(o.database)) throw new UserError(`restore: ${o.file} is the database itself`);
  }
  // serve's lock, held to the end: a serve started during the restore is refused, as one running now refuses this.
  const lock = lockDataDir(o.dataDir, 'restore');
  let tmp: string | undefined;
  let forget = () => {};
  try {
    makeDirsSync(path.dirname(o.database));
    tmp = tempBeside(o.database, 'restore');
    forget = o.onTemp?.(tmp) ?? forget;
    try {
      if (fromStdin) await pipeline(o.stdin ?? process.stdin, fs.createWriteStream(tmp, { flags: 'wx' }));
      else fs.copyFileSync(o.file, tmp, fs.constants.COPYFILE_EXCL);
    } catch (err) {
      throw new UserError(`restore: cannot copy ${name} beside ${o.database}: ${errorMessage(err)}`);
    }
    if (fromStdin) checkBackupHeader(tmp, name);
    const prepared = await prepare({ ...o, file: name }, tmp);
    fsyncFile(tmp);
    fs.chmodSync(tmp, 0o600);
    adoptOwner(tmp, o.database);
    // From here to the rename, nothing awaits: an interrupt cannot land between the old file
    // going aside and the new one arriving.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let aside: string | undefined;
    let staleWal: string | undefined;
    if (fs.existsSync(o.database)) {
      aside = `${o.database}.before-restore-${stamp}`;
      fs.renameSync(o.database, aside);
      for (const s of SIDE_FILES) if (fs.existsSync(`${o.database}${s}`)) fs.renameSync(`${o.database}${s}`, `${aside}${s}`);
    } else if (fs.existsSync(`${o.database}-wal`)) {
      staleWal = `${o.database}-wal.stale-${stamp}`;
      fs.renameSync(`${o.database}-wal`, staleWal);
    }
    for (const s of SIDE_FILES) fs.rmSync(`${o.database}${s}`, { force: true });
    fs.renameSync(tmp, o.database);
    tmp = undefined;
    fsyncDir(path.dirname(o.database));
    return { ...prepared, ...(aside && { aside }), ...(staleWal && { staleWal }) };
  } finally {
    forget();
    if (tmp) for (const f of [tmp, ...SIDE_FILES.map((s) => `${tmp}${s}`)]) fs.rmSync(f, { force: true });
    lock.release();
  }
}

/** Checks, migrates and trims the copy; refuses it when the store lacks what it names (unless allowed). */
async function prepare(o: RestoreOptions, tmp: string): Promise<Omit<RestoreResult, 'aside' | 'staleWal'>> {
  let sqlite: Database.Database;
  try {
    sqlite = new Database(tmp, { fileMustExist: true });
  } catch (err) {
    throw new UserError(`restore: ${o.file} cannot be opened as a database: ${errorMessage(err)}`);
  }
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    // The backup's own journal mode stays out of it: a rollback journal while we work on the
    // copy (no -wal beside a temp file), and serve turns on WAL when it opens it.
    const migrations = loadMigrations();
    const fromVersion = checkBackupContent(o.file, sqlite, migrations.at(-1)?.version ?? 0);
    sqlite.pragma('journal_mode = DELETE');
    sqlite.pragma('foreign_keys = ON');
    try {
      migrate(sqlite, migrations);
    } catch (err) {
      throw new UserError(`restore: ${o.file} could not be brought to this branchboot's schema (${errorMessage(err)}); nothing was changed`);
    }
    // No process on this machine is writing them: without this they stay 'importing' (hidden,
    // unremovable) until `store gc` gives up on them.
    const failed = sqlite.prepare("UPDATE image_versions SET state = 'failed', error = 'import in flight when the backup was taken', updated_at = ? WHERE state = 'importing'").run(Date.now());
    const store = await checkStoreHolds(db, o.storePath);
    if (store.gaps.length && !o.allowMissing) {
      const shown = store.gaps.slice(0, 3).map((g) => `${g.version}: ${g.problem}`).join('; ');
      const more = store.gaps.length > 3 ? ` and ${store.gaps.length - 3} more` : '';
      throw new UserError(`restore: the store ${o.storePath} lacks what ${store.gaps.length} of the ${store.versions} versions in ${o.file} need (${shown}${more}); `
        + 'copy the store first (it must be at least as new as the backup), or --allow-missing to restore anyway; nothing was changed');
    }
    // The DHCP server reads it: the leases handed out since the backup are unknown to it.
    await recordRestore(db, { file: o.file === '-' ? 'stdin' : path.resolve(o.file), fromVersion, importsFailed: failed.changes });
    return { facts: readFacts(sqlite), fromVersion, importsFailed: failed.changes, store };
  } finally {
    await db.destroy();
  }
}

/** Run as root for a service user: the restored file belongs to whoever owned the old one (else the folder's owner), or serve cannot write it. */
function adoptOwner(file: string, database: string): void {
  if (process.getuid?.() !== 0) return;
  const ref = fs.statSync(fs.existsSync(database) ? database : path.dirname(database));
  fs.chownSync(file, ref.uid, ref.gid);
}
