// One `serve` per dataDir. Two would both run DHCP (double offers), both publish boot files and
// both garbage-collect the store; they only collided on a port when both used the same ones.
// The lock is SQLite's own fcntl lock on a small file, held in EXCLUSIVE locking mode: the
// kernel drops it when the process dies, even by SIGKILL or power loss, so there is never a
// stale lock to clean up by hand (a pid file would need one).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeDirsSync } from './util/make-dirs.ts';
import { UserError, errnoCode, errorMessage } from './util/errors.ts';
import { sqliteFileNotWritable } from './util/not-writable.ts';

export interface DataDirLock { file: string; release(): void }

/**
 * Who takes the lock: `serve`; `migrate`, which must not change the schema under a running serve
 * (an older one, mid-upgrade); `restore`, which must not replace the database under one.
 */
export type LockHolder = 'serve' | 'migrate' | 'restore';

export function lockDataDir(dataDir: string, holder: LockHolder = 'serve'): DataDirLock {
  try { makeDirsSync(dataDir); } catch (err) { throw new UserError(`dataDir ${dataDir}: ${errorMessage(err)}`); }
  const file = path.join(dataDir, 'serve.lock');
  const pidFile = path.join(dataDir, 'serve.pid');
  let db: Database.Database;
  const cannotWrite = sqliteFileNotWritable(file);
  if (cannotWrite) throw new UserError(`dataDir ${dataDir}: ${path.basename(file)}: ${cannotWrite}`);
  try {
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw new UserError(`dataDir ${dataDir}: cannot create ${file}: ${errorMessage(err)}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; EXCLUSIVE mode keeps it until close.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    db.exec('DELETE FROM holder');
  } catch (err) {
    db.close();
    const code = errnoCode(err) ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      const other = holderOf(pidFile);
      const unchanged = holder !== 'serve' ? ', the database was not changed' : '';
      throw new UserError(`dataDir ${dataDir} is in use by another branchboot ${other.command}${other.pid}; stop it first${unchanged}`);
    }
    throw new UserError(`dataDir ${dataDir}: cannot lock ${file}: ${errorMessage(err)}`);
  }
  // For the message above only: the lock itself is the SQLite file.
  try { fs.writeFileSync(pidFile, `${process.pid} ${holder}\n`); } catch { /* informative only */ }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      try { fs.rmSync(pidFile, { force: true }); } catch { /* informative only */ }
      db.close();
    },
  };
}

/** "PID COMMAND" (older serves wrote the PID alone). */
function holderOf(pidFile: string): { command: string; pid: string } {
  try {
    const [first, second] = fs.readFileSync(pidFile, 'utf8').trim().split(/\s+/);
    const pid = Number(first);
    return { command: second === 'migrate' || second === 'restore' ? second : 'serve', pid: Number.isInteger(pid) && pid > 0 ? ` (pid ${pid})` : '' };
  } catch {
    return { command: 'serve', pid: '' };
  }
}
