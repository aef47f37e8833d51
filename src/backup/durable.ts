// Files that must be on disk, whole, before their name is: fsync of a file and of its folder
// (a rename is durable only once the folder holding it is synced).
import fs from 'node:fs';
import path from 'node:path';

export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/** A hidden temp name beside `file`, so a rename onto `file` stays in one file system. */
export function tempBeside(file: string, tag: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${tag}-${process.pid}-${Date.now().toString(36)}.tmp`);
}
