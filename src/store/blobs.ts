// Blobs: kernels and initrds, stored whole (clients fetch them whole), content-addressed by
// SHA-512/256 so re-importing the same ISO stores nothing new.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { blobRelPath, BLOB_DIR, TMP_SUFFIX } from './layout.ts';
import { errnoCode } from '../util/errors.ts';

export interface StoredBlob {
  rel: string;
  size: number;
  isNew: boolean;
}

export async function storeBlob(root: string, source: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
  const dir = path.join(root, BLOB_DIR);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${randomBytes(8).toString('hex')}${TMP_SUFFIX}`);
  const hash = createHash('sha512-256');
  const fh = await fsp.open(tmp, 'w');
  let size = 0;
  try {
    for await (const data of source) {
      hash.update(data);
      await fh.write(data);
      size += data.length;
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  const rel = blobRelPath(hash.digest('hex'));
  const dest = path.join(root, rel);
  // Of another size (empty: a power loss before its data reached the disk), it is replaced.
  if (fs.statSync(dest, { throwIfNoEntry: false })?.size === size) {
    // Reuse refreshes the mtime, as for chunks: gc removes unreferenced blobs older than its grace
    // period, and this one is unreferenced until the import's version is ready. Gone since the
    // stat (gc took it): ours takes its place.
    const now = new Date();
    const touched = await fsp.utimes(dest, now, now).then(() => true, (err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    });
    if (touched) {
      await fsp.rm(tmp, { force: true });
      return { rel, size, isNew: false };
    }
  }
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await fsp.rename(tmp, dest);
  return { rel, size, isNew: true };
}
