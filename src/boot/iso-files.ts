// The files of one folder of an ISO 9660 image held in the block store, with their byte extents,
// read through the version's reader (the import's xorriso listing is not kept). Names come from
// Rock Ridge NM entries (ECMA-119 §9.1 directory records, SUSP/RRIP 1.12): Ubuntu's ISOs are
// made by xorriso with Rock Ridge, and the plain ISO 9660 names (upper case, ";1") are not
// the names casper looks for. A file over 4 GiB is several records with the multi-extent flag.
import type { ImageReader } from '../store/types.ts';

const SECTOR = 2048;
/**
 * A directory larger than this is refused: Ubuntu's biggest (pool/main/…) are a few hundred KB,
 * and a hostile record's 32-bit length would otherwise read gigabytes into memory in serve.
 */
export const MAX_DIR_BYTES = 16 * 1024 * 1024;

export interface IsoEntry {
  name: string;
  size: number;
  extents: { start: number; length: number }[];
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

/** The Rock Ridge name in a System Use area (after `skip` bytes, SUSP SP), following CE continuations. */
async function rockRidgeName(r: ImageReader, su: Buffer, skip: number): Promise<string | undefined> {
  let area = su.subarray(skip);
  let name = '';
  for (let hops = 0; hops < 8; hops++) {
    let next: { at: number; len: number } | undefined;
    let off = 0;
    while (off + 4 <= area.length) {
      const sig = area.toString('latin1', off, off + 2);
      const len = area[off + 2]!;
      if (len < 4 || off + len > area.length) break;
      if (sig === 'NM') name += area.toString('utf8', off + 5, off + len);
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
  return name || undefined;
}

async function readDir(r: ImageReader, lba: number, length: number): Promise<Buffer> {
  if (lba * SECTOR + length > r.size) throw new Error(`ISO directory at sector ${lba} lies past the image's end`);
  if (length > MAX_DIR_BYTES) throw new Error(`ISO directory at sector ${lba} claims ${length} bytes (more than ${MAX_DIR_BYTES}): a damaged ISO`);
  return r.read(lba * SECTOR, length);
}

/**
 * Files (not folders) in `folder` (e.g. "casper") of the ISO `r` holds, by Rock Ridge name.
 * Throws when the image is no ISO 9660 or the folder is missing.
 */
export async function isoFolderFiles(r: ImageReader, folder: string): Promise<IsoEntry[]> {
  if (r.size < 17 * SECTOR) throw new Error(`not an ISO 9660 image (${r.size} bytes, too short for a volume descriptor)`);
  const pvd = await r.read(16 * SECTOR, SECTOR);
  if (pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') throw new Error('not an ISO 9660 image (no primary volume descriptor)');
  const root = [...records(pvd.subarray(156, 156 + 34))][0];
  if (!root || !(root.flags & 2)) throw new Error('not an ISO 9660 image (the primary volume descriptor has no root directory record)');
  const rootDir = await readDir(r, root.lba, root.length);
  // SUSP "SP" in the root's "." record says how many bytes to skip in every System Use area.
  const dot = [...records(rootDir)][0];
  const sp = dot?.systemUse;
  const skip = sp && sp.toString('latin1', 0, 2) === 'SP' && sp[4] === 0xbe && sp[5] === 0xef ? sp[6]! : 0;
  const nameOf = async (rec: DirRecord) => (await rockRidgeName(r, rec.systemUse, skip)) ?? rec.id.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '').toLowerCase();
  let dir = rootDir;
  for (const part of folder.split('/').filter(Boolean)) {
    let found: DirRecord | undefined;
    for (const rec of records(dir)) {
      if (rec.id.length === 1 && rec.id[0]! <= 1) continue; // "." and ".."
      if ((rec.flags & 2) && (await nameOf(rec)) === part) { found = rec; break; }
    }
    if (!found) throw new Error(`the ISO has no ${folder}/ folder`);
    dir = await readDir(r, found.lba, found.length);
  }
  const out: IsoEntry[] = [];
  let open: IsoEntry | undefined;
  for (const rec of records(dir)) {
    if (rec.id.length === 1 && rec.id[0]! <= 1) continue;
    if (rec.flags & 2) continue;
    const extent = { start: rec.lba * SECTOR, length: rec.length };
    if (open) {
      // A continuation record of a multi-extent file repeats its name.
      open.extents.push(extent);
      open.size += rec.length;
    } else {
      open = { name: await nameOf(rec), size: rec.length, extents: rec.length ? [extent] : [] };
    }
    if (!(rec.flags & 0x80)) { out.push(open); open = undefined; }
  }
  let total = 0;
  for (const f of out) {
    // A loop, not Math.max(...extents): a file of 200,000 extents overflowed the call stack.
    for (const e of f.extents) if (e.start + e.length > r.size) throw new Error(`${folder}/${f.name} lies past the image's end`);
    total += f.size;
  }
  // Files can only hold more bytes than the image when their extents overlap: a hostile ISO
  // naming one 4 GiB extent 10,000 times would fill the export disk at publish.
  if (total > r.size) throw new Error(`${folder}/ lists ${total} bytes of files in a ${r.size}-byte image (overlapping extents): a damaged ISO`);
  return out;
}
