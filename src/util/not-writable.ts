// Why this process cannot write a file SQLite is about to open. SQLite opens a file it may read
// but not write read-only, without a word: serve then started, said it was running, and every
// lease, session and import failed. That happens when a command run as root made the file and
// serve runs as its own user (contrib/systemd), so the answer names both owners.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, errorMessage } from './errors.ts';

function who(st: fs.Stats): string {
  return `owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/**
 * undefined when `file` (if it exists), its `-wal` and `-shm` (if they exist) and its folder
 * (where SQLite makes those two) can be written; else what cannot, in a few words.
 */
export function sqliteFileNotWritable(file: string): string | undefined {
  const uid = process.getuid?.() ?? -1;
  let exists = false;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    let st: fs.Stats;
    try { st = fs.statSync(f); } catch { continue; }
    exists ||= f === file;
    try { fs.accessSync(f, fs.constants.W_OK); } catch (err) { return problem(err, f === file ? 'it' : f, st, uid); }
  }
  if (!exists) return undefined; // SQLite creates it, or says it cannot
  const dir = path.dirname(file);
  try { fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK); } catch (err) { return problem(err, `its folder ${dir}`, fs.statSync(dir), uid); }
  return undefined;
}

function problem(err: unknown, what: string, st: fs.Stats, uid: number): string {
  const code = errnoCode(err);
  if (code === 'EROFS') return `${what === 'it' ? 'it is' : `${what} is`} on a read-only file system`;
  if (code !== 'EACCES' && code !== 'EPERM') return `cannot write ${what}: ${errorMessage(err)}`;
  return `uid ${uid} cannot write ${what} (${who(st)}): run branchboot as the user that owns the dataDir (with contrib/systemd: as branchboot), or chown it to the user serve runs as`;
}
