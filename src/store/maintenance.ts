// `store verify` and `store gc`. Both read the set of chunks the live indexes reference;
// verify checks each one, gc removes what nothing references once it is older than the grace
// period (so an import still writing chunks, whose index is not published yet, is safe).
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import { chunkCount, chunkId, decodeIndex } from './caibx.ts';
import { hashChunk } from './chunk-id.ts';
import { decompressChunk } from './codec.ts';
import { BLOB_DIR, INDEX_DIR, QUARANTINE_DIR, TMP_SUFFIX, chunkPath } from './layout.ts';
import { isSpaceError } from './store-errors.ts';
import { walkChunks } from './walk.ts';
import { type VersionRow, failStaleImports, versionsHoldingChunks } from '../model/image-versions.ts';
import { errnoCode, errorMessage } from '../util/errors.ts';

export interface MaintenanceProgress {
  done: number;
  total: number;
}

interface Referenced {
  /** hex → the versions that use it ("name@v"). */
  chunks: Map<string, string[]>;
  blobs: Set<string>;
  indexes: Set<string>;
  problems: string[];
}

async function referenced(db: Db, root: string, rows?: VersionRow[]): Promise<Referenced> {
  const ref: Referenced = { chunks: new Map(), blobs: new Set(), indexes: new Set(), problems: [] };
  for (const v of rows ?? await versionsHoldingChunks(db)) {
    for (const b of [v.kernel_blob, v.initrd_blob]) if (b) ref.blobs.add(b);
    if (!v.index_file) continue;
    ref.indexes.add(v.index_file);
    let idx;
    try {
      idx = decodeIndex(await fs.readFile(path.join(root, v.index_file)));
    } catch (err) {
      ref.problems.push(`${v.name}@${v.version}: index ${v.index_file}: ${errorMessage(err)}`);
      continue;
    }
    const label = `${v.name}@${v.version}`;
    for (let i = 0; i < chunkCount(idx); i++) {
      const hex = chunkId(idx, i).toString('hex');
      const users = ref.chunks.get(hex);
      if (!users) ref.chunks.set(hex, [label]);
      else if (users.at(-1) !== label) users.push(label);
    }
  }
  return ref;
}

export interface VerifyReport {
  chunksChecked: number;
  missing: { chunk: string; usedBy: string[] }[];
  corrupt: { chunk: string; usedBy: string[]; why: string; quarantined: boolean; quarantineError?: string }[];
  /** Could not be read (I/O error): not known bad, so never quarantined. */
  unreadable: { chunk: string; usedBy: string[]; why: string }[];
  blobsChecked: number;
  badBlobs: { blob: string; why: string }[];
  indexProblems: string[];
}

export async function verifyStore(db: Db, root: string, log: Logger, opts: { quarantine?: boolean; onProgress?: (p: MaintenanceProgress) => void } = {}): Promise<VerifyReport> {
  const ref = await referenced(db, root);
  const report: VerifyReport = { chunksChecked: 0, missing: [], corrupt: [], unreadable: [], blobsChecked: 0, badBlobs: [], indexProblems: ref.problems };
  const total = ref.chunks.size + ref.blobs.size;
  let done = 0;
  for (const [hex, usedBy] of ref.chunks) {
    const file = chunkPath(root, hex);
    let why: string | undefined;
    let frame: Buffer | undefined;
    try {
      frame = await fs.readFile(file);
    } catch (err) {
      // Not read is not known bad (a disk error, EMFILE, a folder in its place): reported, never
      // quarantined, which would take a chunk that may be whole away from every version using it.
      if (errnoCode(err) === 'ENOENT') report.missing.push({ chunk: hex, usedBy });
      else {
        log.error({ chunk: hex, usedBy, err: errorMessage(err) }, 'store verify: chunk unreadable');
        report.unreadable.push({ chunk: hex, usedBy, why: errorMessage(err) });
      }
    }
    if (frame) {
      try {
        if (hashChunk(decompressChunk(frame)).toString('hex') !== hex) why = 'content does not match its id';
      } catch (err) {
        why = errorMessage(err);
      }
    }
    if (why) {
      let quarantined = false;
      let quarantineError: string | undefined;
      if (opts.quarantine) {
        const q = path.join(root, QUARANTINE_DIR, `${hex}.cacnk`);
        try {
          await fs.mkdir(path.dirname(q), { recursive: true });
          await fs.rename(file, q);
          quarantined = true;
        } catch (err) {
          // A read-only store: the check itself is still worth finishing and reporting.
          quarantineError = errorMessage(err);
        }
      }
      log.error({ chunk: hex, usedBy, why, quarantined, quarantineError }, 'store verify: corrupt chunk');
      report.corrupt.push({ chunk: hex, usedBy, why, quarantined, ...(quarantineError !== undefined && { quarantineError }) });
    }
    report.chunksChecked++;
    if (++done % 256 === 0) opts.onProgress?.({ done, total });
  }
  for (const rel of ref.blobs) {
    const hex = path.basename(rel);
    try {
      const h = createHash('sha512-256');
      for await (const d of createReadStream(path.join(root, rel))) h.update(d as Buffer);
      if (h.digest('hex') !== hex) report.badBlobs.push({ blob: rel, why: 'content does not match its name' });
    } catch (err) {
      report.badBlobs.push({ blob: rel, why: errorMessage(err) });
    }
    report.blobsChecked++;
    opts.onProgress?.({ done: ++done, total });
  }
  opts.onProgress?.({ done, total });
  return report;
}

/** gc will not guess: an operator's problem to fix (a lost or unreadable index), not a crash. */
export class GcRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GcRefusedError';
  }
}

export interface GcReport {
  chunksKept: number;
  chunksRemoved: number;
  bytesRemoved: number;
  /** Unreferenced but younger than the grace period. */
  chunksSpared: number;
  tmpRemoved: number;
  blobsRemoved: number;
  indexesRemoved: number;
  staleImportsFailed: number;
  /** Chunks and blobs a gc killed mid-decision had left renamed aside, put back. */
  asidesRestored: number;
}

/** Clock slack between an import's row time and the file times it leaves (another host's clock on a shared store). */
const CLOCK_SLACK_MS = 60_000;
/** A temp file this young may be one an import is writing right now, whatever the grace period. */
const TMP_MIN_AGE_MS = 600_000;

/**
 * Removes an unreferenced chunk unless an import reuses it meanwhile. An import stats a chunk and
 * then touches it (chunk-writer.ts); a touch between gc's stat and an unlink was lost with the
 * file, and the import published an index naming a chunk gc had just removed. So the file is
 * renamed aside first and looked at again: a touch before the rename shows in its mtime (it goes
 * back), one after it finds no file, and the import writes the chunk anew.
 * Returns the bytes freed, or undefined when the chunk stays.
 */
async function removeUnlessTouched(file: string, cutoff: number): Promise<number | undefined> {
  const aside = path.join(path.dirname(file), `.${path.basename(file)}.gc${randomBytes(4).toString('hex')}${TMP_SUFFIX}`);
  // Killed (-9, power) between this rename and the one back, gc leaves the file aside: an import
  // that touched it just before counts on it. restoreAside() puts it back on the next run.
  try {
    await fs.rename(file, aside);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === undefined || !isSpaceError(code)) throw err;
    // A full file system may have no room for one more name (ext4 can need a new directory block),
    // and gc is what an operator runs to make room: remove it in place after a last look instead.
    const st = await fs.stat(file).catch(() => undefined);
    if (!st || st.mtimeMs >= cutoff) return undefined;
    await fs.rm(file, { force: true });
    return st.size;
  }
  const st = await fs.stat(aside);
  if (st.mtimeMs >= cutoff) {
    await fs.rename(aside, file);
    return undefined;
  }
  await fs.rm(aside, { force: true });
  return st.size;
}

const ASIDE_RE = new RegExp(`^\\.(.+)\\.gc[0-9a-f]{8}${TMP_SUFFIX.replace('.', '\\.')}$`);

/**
 * A stale temp file that is a chunk or blob a killed gc renamed aside (removeUnlessTouched): put
 * back under its name when that name is free, as the gc that died would have done had the file
 * been touched. It was a stale temp before, and removed: a chunk an import had just reused was
 * lost, and a published index named it. Whether it stays is then the next pass's question, like
 * any chunk's. True when it was put back.
 */
async function restoreAside(file: string): Promise<boolean> {
  const name = ASIDE_RE.exec(path.basename(file))?.[1];
  if (!name) return false;
  const home = path.join(path.dirname(file), name);
  try {
    // link(2) fails on an existing name: an import that wrote the chunk anew meanwhile keeps its file.
    await fs.link(file, home);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  await fs.rm(file, { force: true });
  return true;
}

export async function gcStore(db: Db, root: string, log: Logger, opts: { graceHours: number; now?: number; onProgress?: (p: MaintenanceProgress) => void }): Promise<GcReport> {
  const now = opts.now ?? Date.now();
  // An import refreshes its row every minute: one untouched for the grace period (and at least 10 minutes) was killed.
  const staleImportsFailed = await failStaleImports(db, Math.min(now - opts.graceHours * 3600_000, now - 600_000), now);
  const rows = await versionsHoldingChunks(db);
  // Every chunk a live import wrote or reused is at least as young as the import: whatever the
  // grace period (even 0), nothing touched since the oldest live import began may go. Before,
  // `gc --grace 0` during an import removed the chunks it had written, and it published an index
  // naming missing chunks.
  const liveSince = Math.min(...rows.filter((v) => v.state === 'importing').map((v) => v.created_at - CLOCK_SLACK_MS));
  const cutoff = Math.min(now - opts.graceHours * 3600_000, liveSince);
  const tmpCutoff = Math.min(cutoff, now - TMP_MIN_AGE_MS);
  const ref = await referenced(db, root, rows);
  if (ref.problems.length) {
    const more = ref.problems.length > 1 ? ` (and ${ref.problems.length - 1} more)` : '';
    throw new GcRefusedError(`gc refused: an index cannot be read, so its chunks cannot be told apart: ${ref.problems[0]}${more}; \`store verify\` lists them`);
  }
  const report: GcReport = { chunksKept: 0, chunksRemoved: 0, bytesRemoved: 0, chunksSpared: 0, tmpRemoved: 0, blobsRemoved: 0, indexesRemoved: 0, staleImportsFailed, asidesRestored: 0 };
  let done = 0;
  for await (const e of walkChunks(root)) {
    if (e.hex && ref.chunks.has(e.hex)) {
      report.chunksKept++;
    } else if (e.tmp) {
      const st = await fs.stat(e.file).catch(() => undefined);
      // ctime too: a file renamed aside by a gc running at the same time keeps the chunk's old mtime.
      if (st && Math.max(st.mtimeMs, st.ctimeMs) < tmpCutoff) {
        if (await restoreAside(e.file)) {
          report.asidesRestored++;
        } else {
          await fs.rm(e.file, { force: true });
          report.tmpRemoved++;
        }
      }
    } else if (e.hex) {
      const st = await fs.stat(e.file).catch(() => undefined);
      const freed = st && st.mtimeMs < cutoff ? await removeUnlessTouched(e.file, cutoff) : undefined;
      if (freed !== undefined) {
        report.chunksRemoved++;
        report.bytesRemoved += freed;
      } else if (st) {
        report.chunksSpared++;
      }
    }
    if (++done % 1024 === 0) opts.onProgress?.({ done, total: ref.chunks.size });
  }
  // Blobs and indexes of versions no longer held.
  for (const [dirName, keep, isIndex] of [[BLOB_DIR, ref.blobs, false], [INDEX_DIR, ref.indexes, true]] as const) {
    const base = path.join(root, dirName);
    const entries = await fs.readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const ent of entries) {
      if (!ent.isFile()) continue;
      const abs = path.join(ent.parentPath ?? ent.path, ent.name);
      const rel = path.relative(root, abs);
      if (keep.has(rel)) continue;
      const st = await fs.stat(abs).catch(() => undefined);
      const tmp = ent.name.endsWith(TMP_SUFFIX);
      if (!st || (tmp ? Math.max(st.mtimeMs, st.ctimeMs) >= tmpCutoff : st.mtimeMs >= cutoff)) continue;
      // Like chunks, only after the grace period: an import in flight writes its blobs before its
      // row holds them, and one that reuses a blob touches it (blobs.ts), as it does a chunk.
      if (tmp && !isIndex && await restoreAside(abs)) {
        report.asidesRestored++;
        continue;
      }
      if (isIndex || tmp) await fs.rm(abs, { force: true });
      else if (await removeUnlessTouched(abs, cutoff) === undefined) continue;
      if (isIndex) report.indexesRemoved++;
      else if (!tmp) report.blobsRemoved++;
    }
  }
  opts.onProgress?.({ done, total: done });
  log.info({ ...report }, 'store gc finished');
  return report;
}
