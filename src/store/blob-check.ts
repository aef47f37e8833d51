// Is a kernel/initrd blob file still what its name (SHA-512/256 of its content) says? Checked the
// first time it is served and again whenever the file changed since (inode, size, ctime, mtime),
// as chunks are: a blob damaged on disk would otherwise be sent as a kernel or initrd that fails
// at boot, far from any log. Hashing runs once per file state (~0.1 s per 60 MB initrd), shared
// by the requests that arrive meanwhile (a room of machines booting at once).
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { stampFile } from './file-stamp.ts';


export interface BlobCheck {
  /** Undefined when the file holds what its name says; else why not. Rejects when it cannot be read. */
  check(file: string, hex: string): Promise<string | undefined>;
}

export function createBlobCheck(): BlobCheck {
  const good = new Map<string, string>();
  const inflight = new Map<string, Promise<string | undefined>>();

  async function hashFile(file: string, hex: string): Promise<string | undefined> {
    const before = await stampFile(file);
    const h = createHash('sha512-256');
    for await (const d of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) h.update(d as Buffer);
    if (h.digest('hex') !== hex) return 'content does not match its name (SHA-512/256)';
    // Changed while it was read: not known good; the next request checks again.
    if (await stampFile(file) === before) good.set(file, before);
    return undefined;
  }

  return {
    async check(file, hex) {
      if (good.get(file) === await stampFile(file)) return undefined;
      let p = inflight.get(file);
      if (!p) {
        p = hashFile(file, hex).finally(() => inflight.delete(file));
        inflight.set(file, p);
      }
      return p;
    },
  };
}
