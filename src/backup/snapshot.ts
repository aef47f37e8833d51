// A consistent copy of the live database, taken beside a running serve.
//
// VACUUM INTO reads the whole database inside one read transaction: in WAL mode a reader never
// blocks the writer (serve keeps committing leases to the WAL meanwhile; its checkpoints cannot
// pass the snapshot until we end, so the WAL grows for the copy's duration, then shrinks). The
// online backup API (sqlite3_backup_step in small steps) would restart from the first page each
// time another process writes, which a serve under DHCP load does many times a second. Copying
// the files instead can pair a database file with a WAL of another moment: a torn copy.
//
// serve's dataDir lock is not taken: it would refuse the backup exactly when one is wanted.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { UserError, errnoCode, errorMessage } from '../util/errors.ts';
import { missingTables, readFacts, type DbFacts } from './facts.ts';
import { fsyncFile } from './durable.ts';

export interface Snapshot extends DbFacts {
  bytes: number;
  /** Time the source was held in a read transaction (VACUUM INTO). */
  readMs: number;
}

/**
 * Writes a snapshot of `database` to `tmp` (which must not exist), checks it and syncs it.
 * Throws UserError; the caller removes `tmp` on failure and renames it into place on success.
 */
export function snapshotDatabase(database: string, tmp: string): Snapshot {
  if (!fs.existsSync(database)) throw new UserError(`backup: database ${database} does not exist (are dataDir and database in the config right?)`);
  let src: Database.Database;
  try {
    // Read-only: the backup changes nothing, not even the schema (an older serve may be running
    // against it mid-upgrade; the copy is of what is there).
    src = new Database(database, { readonly: true, fileMustExist: true, timeout: 5000 });
  } catch (err) {
    throw new UserError(`backup: cannot open database ${database}: ${errorMessage(err)}`);
  }
  let readMs: number;
  try {
    src.pragma('busy_timeout = 5000');
    const missing = sqliteCall(database, () => missingTables(src));
    if (missing.length) throw new UserError(`backup: ${database} is not a branchboot database (no ${missing.join(', ')} table)`);
    const t0 = performance.now();
    sqliteCall(database, () => src.prepare('VACUUM INTO ?').run(tmp));
    readMs = performance.now() - t0;
  } finally {
    src.close();
  }
  const out = new Database(tmp, { fileMustExist: true });
  let facts: DbFacts;
  try {
    // A plain rollback-journal file: self-contained, and opening it (restore, the sqlite3 shell)
    // creates no -wal/-shm beside it.
    out.pragma('journal_mode = DELETE');
    const check = String(out.pragma('quick_check', { simple: true }));
    if (check !== 'ok') throw new UserError(`backup: the copy of ${database} failed SQLite's check (${check.split('\n')[0]}); the database itself may be damaged: run \`branchboot migrate\` with serve stopped to check it`);
    facts = readFacts(out);
  } finally {
    out.close();
  }
  fsyncFile(tmp);
  return { ...facts, bytes: fs.statSync(tmp).size, readMs };
}

function sqliteCall<T>(database: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = errnoCode(err) ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw new UserError(`backup: ${database} is not a valid SQLite database or is corrupt (${errorMessage(err)})`);
    if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_CANTOPEN') throw new UserError(`backup: cannot write the copy: ${errorMessage(err)}`);
    if (code.startsWith('SQLITE_BUSY')) throw new UserError(`backup: ${database} stayed locked for 5 s (a migration or restore running?): ${errorMessage(err)}`);
    throw err;
  }
}
