// A second, read-only SQLite connection for the console's and API's hottest reads (machine
// pages, session lookup, the branch header) with its prepared statements kept. Through Kysely
// every call prepares its statement again; on the branch page that was ~11% of the CPU
// (bench/api profile). WAL lets this connection read beside the main one, and each statement
// sees the last commit, so a page shown after a change shows it. Inside a transaction the
// callers pass the transaction, which has no reader attached: they stay on its connection.
import Database from 'better-sqlite3';
import { CompiledQuery } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';

interface Reader { conn: Database.Database; statements: Map<string, Database.Statement>; users: number }

const readers = new WeakMap<object, Reader>();
const MAX_STATEMENTS = 256;

/** Opens (or shares) the read connection for `db`; returns its release. ':memory:' gets none. */
export function attachReader(db: Db, file: string): () => void {
  if (file === ':memory:' || file === '') return () => {};
  let r = readers.get(db);
  if (!r) {
    let conn: Database.Database;
    try {
      // `file` must be the database `db` has open (config.database, as src/app.ts opens it).
      conn = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    } catch {
      return () => {}; // no reader: every query goes through Kysely, only slower
    }
    r = { conn, statements: new Map(), users: 0 };
    readers.set(db, r);
  }
  r.users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const cur = readers.get(db);
    if (cur && --cur.users === 0) {
      readers.delete(db);
      cur.conn.close();
    }
  };
}

/** Runs a read statement on the attached reader, or through Kysely when there is none. */
export async function readQuery<T>(db: Db, text: string, params: unknown[]): Promise<T[]> {
  const r = readers.get(db);
  if (!r) return (await db.executeQuery<T>(CompiledQuery.raw(text, params))).rows;
  let st = r.statements.get(text);
  if (!st) {
    st = r.conn.prepare(text);
    // Statements differ only by the length of an IN list; a bound keeps odd ones from piling up.
    if (r.statements.size < MAX_STATEMENTS) r.statements.set(text, st);
  }
  return st.all(...params) as T[];
}

/**
 * Like readQuery, rows as arrays in SELECT order. better-sqlite3 builds a row object property
 * by property, which for a 50-machine page of 19 columns cost twice the query itself; arrays
 * mapped by the caller into one object literal are much cheaper.
 */
export async function readRows(db: Db, text: string, params: unknown[]): Promise<unknown[][]> {
  const r = readers.get(db);
  if (!r) return (await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, params))).rows.map((o) => Object.values(o));
  const key = `raw:${text}`;
  let st = r.statements.get(key);
  if (!st) {
    st = r.conn.prepare(text).raw(true);
    if (r.statements.size < MAX_STATEMENTS) r.statements.set(key, st);
  }
  return st.all(...params) as unknown[][];
}
