// Is FILE a whole branchboot database this build can use? Checked on the file's header first
// (a truncated download or a cut copy is named as such, not as "corrupt"), then on a copy
// opened by SQLite. Every refusal is one line naming the file.
import fs from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { UserError, errnoCode, errorMessage } from '../util/errors.ts';
import { missingTables, schemaVersionOf } from './facts.ts';

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** The header checks: a regular file, SQLite's magic, at least as long as its header says (SQLite file format §1.3). */
export function checkBackupHeader(file: string, name = file): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new UserError(`restore: cannot read ${name}: ${errnoCode(err) === 'ENOENT' ? 'no such file' : errorMessage(err)}`);
  }
  if (!st.isFile()) throw new UserError(`restore: ${name} is not a file`);
  if (st.size === 0) throw new UserError(`restore: ${name} is empty, not a branchboot backup`);
  const head = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  let got: number;
  try { got = fs.readSync(fd, head, 0, 100, 0); } finally { fs.closeSync(fd); }
  if (got < 100 || !head.subarray(0, 16).equals(MAGIC)) throw new UserError(`restore: ${name} is not a branchboot backup (not an SQLite database)`);
  const raw = head.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  // The in-header page count is valid only when "version-valid-for" matches the change counter.
  const pages = head.readUInt32BE(92) === head.readUInt32BE(24) ? head.readUInt32BE(28) : 0;
  const want = pages * pageSize;
  if (want > st.size || (pageSize > 0 && st.size % pageSize !== 0)) {
    throw new UserError(`restore: ${name} is truncated: ${st.size} bytes of the ${want || `multiple of ${pageSize}`} its header announces (an interrupted copy or download?)`);
  }
}

/** The checks SQLite itself answers, on an open (copied) handle. Returns the schema version. */
export function checkBackupContent(file: string, sqlite: BetterSqlite3.Database, newest: number): number {
  let check: string;
  try {
    check = String(sqlite.pragma('quick_check', { simple: true }));
  } catch (err) {
    throw new UserError(`restore: ${file} is not a valid SQLite database or is damaged (${errorMessage(err)})`);
  }
  if (check !== 'ok') throw new UserError(`restore: ${file} is damaged (${check.split('\n')[0]}); take another backup`);
  const missing = missingTables(sqlite);
  if (missing.length) throw new UserError(`restore: ${file} is an SQLite database but not branchboot's (no ${missing.join(', ')} table)`);
  const version = schemaVersionOf(sqlite);
  if (version > newest) throw new UserError(`restore: ${file} has schema version ${version}, newer than this branchboot (knows up to ${newest}); restore it with that branchboot or a newer one`);
  return version;
}
