// A file's state as far as "has it changed since we checked it?" goes: inode (replaced by a
// rename), size (truncated), change and modification times (rewritten in place). The store
// checks a chunk, blob or index once per stamp rather than on every read.
import fs from 'node:fs';

export type FileStamp = string;

function stampOf(st: Pick<fs.Stats, 'ino' | 'size' | 'ctimeMs' | 'mtimeMs'>): FileStamp {
  return `${st.ino}:${st.size}:${st.ctimeMs}:${st.mtimeMs}`;
}

export async function stampFile(file: string): Promise<FileStamp> {
  return stampOf(await fs.promises.stat(file));
}
