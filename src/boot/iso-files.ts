// The files of one folder of an ISO 9660 image held in the block store, with their byte extents,
// read through the version's reader (the import's xorriso listing is not kept). Names come from
// Rock Ridge NM entries (ECMA-119 §9.1 directory records, SUSP/RRIP 1.12): Ubuntu's ISOs are
// made by xorriso with Rock Ridge, and the plain ISO 9660 names (upper case, ";1") are not
// the names casper looks for. A file over 4 GiB is several records with the multi-extent flag.
// Rock Ridge symbolic links (SL), relocated folders (RE) and their stand-ins (CL) are no files
// to publish: a link on the share could point anywhere, and xorriso, which makes Ubuntu's ISOs,
// does not relocate deep folders.
import type { ImageReader } from '../store/types.ts';

const SECTOR = 2048;
/**
 * A directory larger than this is refused: Ubuntu's biggest (pool/main/…) are a few hundred KB,
 * and a hostile record's 32-bit length would otherwise read gigabytes into memory in serve.
 */
export const MAX_DIR_BYTES = 16 * 1024 * 1024;

/**
 * Bounds of a walk through a folder tree (isoTreeFiles): Ubuntu's pool/ and dists/ are a few
 * thousand files in folders four deep, so these stop only a hostile or damaged ISO, whose
 * folders could otherwise name each other in a loop, nest without end, or make serve read a
 * 16 MiB directory a thousand times over.
 */
export const TREE_LIMITS = { depth: 16, dirs: 20_000, files: 200_000, dirBytes: 64 * 1024 * 1024 };

export interface IsoEntry {
  name: string;
  size: number;
  extents: { start: number; length: number }[];
}

/** A file in a folder tree: its path below the ISO's root, one name per folder (never joined: a name may hold "/"). */
export interface IsoTreeEntry extends IsoEntry {
  segments: string[];
}

interface DirRecord {
  lba: number;
  length: number;
  flags: number;
  id: Buffer;
  systemUse: Buffer;
}

function* records(dir: Buffer): Generator<DirRecord> {
  let off = 0;
  while (off < dir.length) {
    const len = dir[off]!;
    if (len === 0) { off = (Math.floor(off / SECTOR) + 1) * SECTOR; continue; } // records never cross a sector
    if (len < 34 || off + len > dir.length) return;
    const idLen = dir[off + 32]!;
    const suStart = off + 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
    yield {
      lba: dir.readUInt32LE(off + 2), length: dir.readUInt32LE(off + 10), flags: dir[off + 25]!,
      id: dir.subarray(off + 33, off + 33 + idLen), systemUse: dir.subarray(Math.min(suStart, off + len), off + len),
    };
    off += len;
  }
}

interface RockRidge {
  name: string | undefined;
  /** SL (a symbolic link), RE (a relocated folder) or CL (where one was): nothing to publish. */
  notAFile: boolean;
}

/** The Rock Ridge name and kind in a System Use area (after `skip` bytes, SUSP SP), following CE continuations. */
async function rockRidge(r: ImageReader, su: Buffer, skip: number): Promise<RockRidge> {
  let area = su.subarray(skip);
  let name = '';
  let notAFile = false;
  for (let hops = 0; hops < 8; hops++) {
    let next: { at: number; len: number } | undefined;
    let off = 0;
    while (off + 4 <= area.length) {
      const sig = area.toString('latin1', off, off + 2);
      const len = area[off + 2]!;
      if (len < 4 || off + len > area.length) break;
      if (sig === 'NM') name += area.toString('utf8', off + 5, off + len);
      if (sig === 'SL' || sig === 'RE' || sig === 'CL') notAFile = true;
      if (sig === 'CE' && len >= 28) {
        // A continuation area lies inside one block (Linux's rock.c refuses one that crosses it):
        // so a read is at most a sector, whatever the 32-bit length says.
        const inBlock = area.readUInt32LE(off + 12);
        const ceLen = area.readUInt32LE(off + 20);
        if (inBlock + ceLen <= SECTOR) next = { at: area.readUInt32LE(off + 4) * SECTOR + inBlock, len: ceLen };
      }
      if (sig === 'ST') break;
      off += len;
    }
    if (!next || next.at + next.len > r.size) break;
    area = await r.read(next.at, next.len);
  }
  return { name: name || undefined, notAFile };
}

function checkDir(r: ImageReader, lba: number, length: number): void {
  if (lba * SECTOR + length > r.size) throw new Error(`ISO directory at sector ${lba} lies past the image's end`);
  if (length > MAX_DIR_BYTES) throw new Error(`ISO directory at sector ${lba} claims ${length} bytes (more than ${MAX_DIR_BYTES}): a damaged ISO`);
}

async function readDir(r: ImageReader, lba: number, length: number): Promise<Buffer> {
  checkDir(r, lba, length);
  return r.read(lba * SECTOR, length);
}

/** A path from the ISO for an error message: one line, control characters shown as "?", at most 200 characters. */
function shown(p: string): string {
  const line = p.replace(/[\u0000-\u001f\u007f]/g, '?');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

interface Iso {
  r: ImageReader;
  /** SUSP "SP" in the root's "." record: how many bytes to skip in every System Use area. */
  skip: number;
  rootDir: Buffer;
}

async function openIso(r: ImageReader): Promise<Iso> {
  if (r.size < 17 * SECTOR) throw new Error(`not an ISO 9660 image (${r.size} bytes, too short for a volume descriptor)`);
  const pvd = await r.read(16 * SECTOR, SECTOR);
  if (pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') throw new Error('not an ISO 9660 image (no primary volume descriptor)');
  const root = [...records(pvd.subarray(156, 156 + 34))][0];
  if (!root || !(root.flags & 2)) throw new Error('not an ISO 9660 image (the primary volume descriptor has no root directory record)');
  const rootDir = await readDir(r, root.lba, root.length);
  const sp = [...records(rootDir)][0]?.systemUse;
  const skip = sp && sp.toString('latin1', 0, 2) === 'SP' && sp[4] === 0xbe && sp[5] === 0xef ? sp[6]! : 0;
  return { r, skip, rootDir };
}

const isDot = (rec: DirRecord) => rec.id.length === 1 && rec.id[0]! <= 1; // "." and ".."

async function recordInfo(iso: Iso, rec: DirRecord): Promise<{ name: string; notAFile: boolean }> {
  const rr = await rockRidge(iso.r, rec.systemUse, iso.skip);
  return { name: rr.name ?? rec.id.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '').toLowerCase(), notAFile: rr.notAFile };
}

/** The directory record of `folder` (e.g. "casper", "pool/main"), or undefined when the ISO has none. */
async function findFolder(iso: Iso, folder: string): Promise<DirRecord | undefined> {
  let dir = iso.rootDir;
  let found: DirRecord | undefined;
  for (const part of folder.split('/').filter(Boolean)) {
    found = undefined;
    for (const rec of records(dir)) {
      if (isDot(rec) || !(rec.flags & 2)) continue;
      const info = await recordInfo(iso, rec);
      if (!info.notAFile && info.name === part) { found = rec; break; }
    }
    if (!found) return undefined;
    dir = await readDir(iso.r, found.lba, found.length);
  }
  return found;
}

/** The files and the subfolders of one directory's records. */
async function entriesOf(iso: Iso, dir: Buffer): Promise<{ files: IsoEntry[]; folders: { name: string; rec: DirRecord }[] }> {
  const files: IsoEntry[] = [];
  const folders: { name: string; rec: DirRecord }[] = [];
  let open: (IsoEntry & { skip: boolean }) | undefined;
  for (const rec of records(dir)) {
    if (isDot(rec)) continue;
    if (rec.flags & 2) {
      const info = await recordInfo(iso, rec);
      if (!info.notAFile) folders.push({ name: info.name, rec });
      continue;
    }
    const extent = { start: rec.lba * SECTOR, length: rec.length };
    if (open) {
      // A continuation record of a multi-extent file repeats its name.
      open.extents.push(extent);
      open.size += rec.length;
    } else {
      const info = await recordInfo(iso, rec);
      open = { name: info.name, size: rec.length, extents: rec.length ? [extent] : [], skip: info.notAFile };
    }
    if (!(rec.flags & 0x80)) {
      if (!open.skip) files.push({ name: open.name, size: open.size, extents: open.extents });
      open = undefined;
    }
  }
  return { files, folders };
}

/**
 * Throws when a file lies past the image's end, or the files hold more bytes than the image:
 * only overlapping extents can do that, and a hostile ISO naming one 4 GiB extent 10,000 times
 * would fill the export disk at publish.
 */
export function checkExtents(r: ImageReader, files: (IsoEntry & { segments?: string[] })[], folder: string): void {
  let total = 0;
  for (const f of files) {
    // A loop, not Math.max(...extents): a file of 200,000 extents overflowed the call stack.
    for (const e of f.extents) if (e.start + e.length > r.size) throw new Error(`${shown(f.segments ? f.segments.join('/') : `${folder}/${f.name}`)} lies past the image's end`);
    total += f.size;
  }
  if (total > r.size) throw new Error(`${shown(folder)}/ lists ${total} bytes of files in a ${r.size}-byte image (overlapping extents): a damaged ISO`);
}

/**
 * Files (not folders) in `folder` (e.g. "casper") of the ISO `r` holds, by Rock Ridge name.
 * Throws when the image is no ISO 9660 or the folder is missing.
 */
export async function isoFolderFiles(r: ImageReader, folder: string): Promise<IsoEntry[]> {
  const iso = await openIso(r);
  let dir = iso.rootDir;
  if (folder.split('/').some(Boolean)) {
    const rec = await findFolder(iso, folder);
    if (!rec) throw new Error(`the ISO has no ${folder}/ folder`);
    dir = await readDir(r, rec.lba, rec.length);
  }
  const { files } = await entriesOf(iso, dir);
  checkExtents(r, files, folder);
  return files;
}

/**
 * Every file below the top-level `folders` (e.g. pool, dists, .disk), folders that the ISO does
 * not have left out, in the order given and depth first. Bounded by TREE_LIMITS; a folder
 * reached twice (records naming each other in a loop) is a damaged ISO. `signal` stops the walk
 * between folders.
 */
export async function isoTreeFiles(r: ImageReader, folders: string[], signal?: AbortSignal): Promise<IsoTreeEntry[]> {
  const iso = await openIso(r);
  const out: IsoTreeEntry[] = [];
  const seen = new Set<number>();
  let dirs = 0;
  let dirBytes = 0;
  const walk = async (rec: DirRecord, segments: string[]): Promise<void> => {
    signal?.throwIfAborted();
    const where = shown(segments.join('/'));
    const top = shown(segments[0]!);
    if (segments.length > TREE_LIMITS.depth) throw new Error(`${where}/ lies deeper than ${TREE_LIMITS.depth} folders: a damaged ISO`);
    if (seen.has(rec.lba)) throw new Error(`${where}/ is a folder met before (directory records in a loop): a damaged ISO`);
    seen.add(rec.lba);
    if (++dirs > TREE_LIMITS.dirs) throw new Error(`${top}/ has more than ${TREE_LIMITS.dirs} folders: a damaged ISO`);
    checkDir(r, rec.lba, rec.length);
    dirBytes += rec.length;
    if (dirBytes > TREE_LIMITS.dirBytes) throw new Error(`${top}/ has more than ${TREE_LIMITS.dirBytes} bytes of directory records: a damaged ISO`);
    const { files, folders: subs } = await entriesOf(iso, await readDir(r, rec.lba, rec.length));
    for (const f of files) out.push({ ...f, segments: [...segments, f.name] });
    if (out.length > TREE_LIMITS.files) throw new Error(`${top}/ has more than ${TREE_LIMITS.files} files: a damaged ISO`);
    for (const s of subs) await walk(s.rec, [...segments, s.name]);
  };
  for (const folder of folders) {
    const rec = await findFolder(iso, folder);
    if (rec) await walk(rec, folder.split('/').filter(Boolean));
  }
  checkExtents(r, out, folders.join(', '));
  return out;
}
