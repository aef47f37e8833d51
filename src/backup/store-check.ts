// Does the store hold what a (restored) database's versions name? Presence only: each ready
// version's index is there and decodes to the size its row records, its kernel and initrd blobs
// are there, and every chunk its index names has a file. Reading and hashing every chunk is
// `store verify`'s job (minutes on a big store); a stat per chunk is what tells "the store copy
// is older than the database" before the database is put in place.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/index.ts';
import { chunkCount, chunkId, decodeIndex, indexSize } from '../store/caibx.ts';
import { chunkPath } from '../store/layout.ts';
import { versionsHoldingChunks } from '../model/image-versions.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';

export interface VersionGap {
  version: string;
  problem: string;
}

export interface StoreCheck {
  versions: number;
  chunks: number;
  gaps: VersionGap[];
}

export async function checkStoreHolds(db: Db, root: string): Promise<StoreCheck> {
  const rows = (await versionsHoldingChunks(db)).filter((v) => v.state === 'ready');
  const seen = new Map<string, boolean>();
  const report: StoreCheck = { versions: rows.length, chunks: 0, gaps: [] };
  for (const v of rows) {
    const label = `${v.name}@${v.version}`;
    const problems: string[] = [];
    for (const [what, blob] of [['kernel', v.kernel_blob], ['initrd', v.initrd_blob]] as const) {
      if (blob && !(await exists(path.join(root, blob)))) problems.push(`${what} blob ${blob} missing`);
    }
    if (v.index_file) {
      let idx;
      try {
        idx = decodeIndex(await fs.readFile(path.join(root, v.index_file)));
      } catch (err) {
        problems.push(errnoCode(err) === 'ENOENT' ? `index ${v.index_file} missing` : `index ${v.index_file}: ${errorMessage(err)}`);
      }
      // An index under this path from another import (the store copy and the database from
      // different histories) would serve other bytes under this version's name.
      if (idx && indexSize(idx) !== v.size_bytes) problems.push(`index ${v.index_file} describes ${indexSize(idx)} bytes, the version ${v.size_bytes}: not this version's index`);
      else if (idx) {
        let missing = 0;
        const n = chunkCount(idx);
        for (let i = 0; i < n; i++) {
          const hex = chunkId(idx, i).toString('hex');
          let ok = seen.get(hex);
          if (ok === undefined) {
            ok = await exists(chunkPath(root, hex));
            seen.set(hex, ok);
            report.chunks++;
          }
          if (!ok) missing++;
        }
        if (missing) problems.push(`${missing} of ${n} chunks missing`);
      }
    }
    if (problems.length) report.gaps.push({ version: label, problem: problems.join(', ') });
  }
  return report;
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}
