// Listing the chunk store: default.castr/<4hex>/<64hex>.cacnk, plus leftover temp files.
import fs from 'node:fs/promises';
import path from 'node:path';
import { CHUNK_DIR, TMP_SUFFIX } from './layout.ts';

export interface StoreEntry {
  file: string;
  /** Chunk id in hex, or undefined for a temp file or a stray. */
  hex?: string;
  tmp: boolean;
}

export async function* walkChunks(root: string): AsyncGenerator<StoreEntry> {
  const base = path.join(root, CHUNK_DIR);
  let dirs: string[];
  try {
    dirs = (await fs.readdir(base)).sort();
  } catch {
    return;
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{4}$/.test(d)) continue;
    let names: string[];
    try {
      names = await fs.readdir(path.join(base, d));
    } catch {
      continue;
    }
    for (const n of names) {
      const file = path.join(base, d, n);
      const m = /^([0-9a-f]{64})\.cacnk$/.exec(n);
      if (m && m[1]!.startsWith(d)) yield { file, hex: m[1]!, tmp: false };
      else yield { file, tmp: n.endsWith(TMP_SUFFIX) };
    }
  }
}
