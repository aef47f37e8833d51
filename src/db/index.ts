// Opens the embedded SQLite database through Kysely, checks it is usable, and migrates it.
import path from 'node:path';
import { makeDirsSync } from '../util/make-dirs.ts';
import Database from 'better-sqlite3';
import type { Kysely as KyselyDb } from 'kysely';
import { Kysely, SqliteDialect } from './kysely.ts';
import type { DB } from './schema.ts';
import { migrate } from './migrate.ts';
import { UserError, errnoCode, errorMessage } from '../util/errors.ts';
import { sqliteFileNotWritable } from '../util/not-writable.ts';

export type Db = KyselyDb<DB>;

export interface DatabaseHandle {
  db: Db;
  sqlite: Database.Database;
  file: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply pending migrations (serve and migrate do; tests of old versions do not). */
  migrate?: boolean;
  readonly?: boolean;
  /**
   * Read every page once (SQLite's quick_check) before going on: serve and migrate do, so a
   * database damaged past its first page is named at start, not by the first query that meets
   * the damage. It costs a read of the whole file (200 ms for 34 MB here; a database with months
   * of leases and boot events is far larger), so a CLI command or a second connection of the
   * same process does not pay it; a file that is not a database at all fails either way.
   */
  integrityCheck?: boolean;
}

export function openDatabase(file: string, opts: OpenOptions = {}): DatabaseHandle {
  let sqlite: Database.Database;
  const cannotWrite = file !== ':memory:' && !opts.readonly ? sqliteFileNotWritable(file) : undefined;
  if (cannotWrite) throw new UserError(`database ${file}: ${cannotWrite}`);
  try {
    if (file !== ':memory:') makeDirsSync(path.dirname(file));
    sqlite = new Database(file, { readonly: opts.readonly ?? false, timeout: 5000 });
    // WAL lets the console read while DHCP commits leases; synchronous=FULL makes a
    // committed lease survive power loss, which an ACK promises (RFC 2131 §4.3.2 binding).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    if (opts.integrityCheck) {
      const check = sqlite.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(firstProblem(String(check))), { code: 'SQLITE_CORRUPT' });
    }
  } catch (err) {
    throw new UserError(describeOpenError(file, err));
  }
  try {
    if (opts.migrate ?? true) migrate(sqlite);
  } catch (err) {
    sqlite.close();
    if (err instanceof UserError) throw err;
    throw new UserError(`database ${file}: migration failed: ${describeSqliteError(err)}`);
  }
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
    db, sqlite, file,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy(); // closes the better-sqlite3 handle too
    },
  };
}

/** quick_check reports up to 100 lines under a "*** in database main ***" header: one line of it. */
function firstProblem(report: string): string {
  const lines = report.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('***'));
  return lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : (lines[0] ?? report.trim());
}

function describeOpenError(file: string, err: unknown): string {
  return `database ${file}: ${describeSqliteError(err)}`;
}

function describeSqliteError(err: unknown): string {
  const code = errnoCode(err) ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'is locked by another process (is another branchboot running on the same dataDir?)';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return `is not a valid SQLite database or is corrupt (${errorMessage(err)}); restore it from a backup or move it away`;
  if (code === 'SQLITE_CANTOPEN') return 'cannot be opened (check that its folder exists and is writable)';
  if (code === 'SQLITE_READONLY') return 'is read-only (check file permissions)';
  return errorMessage(err);
}
