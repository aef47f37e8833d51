// The casync blob index (.caibx): what casync, desync and our reader agree on. Every field is
// a little-endian u64 (casync src/caformat.h). Parsing is strict because a reader that
// guesses would serve wrong bytes; each refusal names the offending field and offset.

export const CA_FORMAT_INDEX = 0x96824d9c7b129ff9n;
export const CA_FORMAT_TABLE = 0xe75b9e112f17417dn;
export const CA_FORMAT_TABLE_TAIL_MARKER = 0x4b4f050e5549ecd1n;
/** Chunk ids are SHA-512/256 rather than SHA-256. */
export const CA_FORMAT_SHA512_256 = 0x2000000000000000n;
/** What `casync make` writes for a blob index: SHA-512/256 plus its two exclude-flags (nodump, submounts). */
export const CASYNC_DEFAULT_FLAGS = 0xb000000000000000n;
/** Feature bits casync defines: the with-mask (below bit 33) and the four top bits (caformat.h CA_FORMAT_FEATURE_FLAGS_MAX). */
const KNOWN_FLAGS = 0xf0000001ffffffffn;
const CHUNK_SIZE_LIMIT_MIN = 1;
const CHUNK_SIZE_LIMIT_MAX = 128 * 1024 * 1024;
const HEADER_SIZE = 48;
const TABLE_HEADER_SIZE = 16;
const ITEM_SIZE = 40;
const TAIL_SIZE = 40;
export const ID_SIZE = 32;

export interface CaibxIndex {
  flags: bigint;
  chunkMin: number;
  chunkAvg: number;
  chunkMax: number;
  /** End offset of each chunk in the image, strictly increasing. */
  ends: Float64Array;
  /** The 32-byte ids, chunk i at [32i, 32i + 32). */
  ids: Buffer;
}

export class IndexFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexFormatError';
  }
}

export function indexSize(index: CaibxIndex): number {
  return index.ends.length ? index.ends[index.ends.length - 1]! : 0;
}

export function chunkCount(index: CaibxIndex): number {
  return index.ends.length;
}

export function chunkId(index: CaibxIndex, i: number): Buffer {
  return index.ids.subarray(i * ID_SIZE, (i + 1) * ID_SIZE);
}

export function chunkStart(index: CaibxIndex, i: number): number {
  return i === 0 ? 0 : index.ends[i - 1]!;
}

/** The chunk that holds byte `offset` (binary search over the ends). */
export function chunkAt(index: CaibxIndex, offset: number): number {
  let lo = 0;
  let hi = index.ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (index.ends[mid]! > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new IndexFormatError(`${what} at byte ${at} is ${v}, beyond 2^53`);
  return Number(v);
}

export function decodeIndex(buf: Buffer): CaibxIndex {
  if (buf.length < HEADER_SIZE + TABLE_HEADER_SIZE + TAIL_SIZE) {
    throw new IndexFormatError(`index is ${buf.length} bytes, shorter than the ${HEADER_SIZE + TABLE_HEADER_SIZE + TAIL_SIZE} of an empty one`);
  }
  const hsize = buf.readBigUInt64LE(0);
  const htype = buf.readBigUInt64LE(8);
  if (hsize !== BigInt(HEADER_SIZE) || htype !== CA_FORMAT_INDEX) {
    throw new IndexFormatError(`bad header: size ${hsize}, type 0x${htype.toString(16)} (want ${HEADER_SIZE}, 0x${CA_FORMAT_INDEX.toString(16)})`);
  }
  const flags = buf.readBigUInt64LE(16);
  const unknown = flags & ~KNOWN_FLAGS;
  if (unknown !== 0n) throw new IndexFormatError(`unknown feature flags 0x${unknown.toString(16)} in 0x${flags.toString(16)}`);
  if ((flags & CA_FORMAT_SHA512_256) === 0n) throw new IndexFormatError('index uses SHA-256 chunk ids; this store uses SHA-512/256');
  const chunkMin = u64(buf, 24, 'chunk size min');
  const chunkAvg = u64(buf, 32, 'chunk size avg');
  const chunkMax = u64(buf, 40, 'chunk size max');
  if (!(CHUNK_SIZE_LIMIT_MIN <= chunkMin && chunkMin <= chunkAvg && chunkAvg <= chunkMax && chunkMax <= CHUNK_SIZE_LIMIT_MAX)) {
    throw new IndexFormatError(`chunk sizes min ${chunkMin} avg ${chunkAvg} max ${chunkMax} are not ordered within 1 B..128 MiB`);
  }
  const tsize = buf.readBigUInt64LE(48);
  const ttype = buf.readBigUInt64LE(56);
  if (tsize !== 0xffffffffffffffffn || ttype !== CA_FORMAT_TABLE) {
    throw new IndexFormatError(`bad table header at byte 48: size 0x${tsize.toString(16)}, type 0x${ttype.toString(16)}`);
  }
  const body = buf.length - HEADER_SIZE - TABLE_HEADER_SIZE - TAIL_SIZE;
  if (body % ITEM_SIZE !== 0) throw new IndexFormatError(`index length ${buf.length} is not 104 + 40n: truncated or trailing bytes`);
  const n = body / ITEM_SIZE;
  const tail = HEADER_SIZE + TABLE_HEADER_SIZE + n * ITEM_SIZE;
  const t0 = buf.readBigUInt64LE(tail);
  const t1 = buf.readBigUInt64LE(tail + 8);
  const tIndexOffset = buf.readBigUInt64LE(tail + 16);
  const tTableSize = buf.readBigUInt64LE(tail + 24);
  const tMarker = buf.readBigUInt64LE(tail + 32);
  if (t0 !== 0n || t1 !== 0n) throw new IndexFormatError(`bad tail at byte ${tail}: first two fields must be 0 (got ${t0}, ${t1})`);
  if (tIndexOffset !== BigInt(HEADER_SIZE)) throw new IndexFormatError(`bad tail at byte ${tail + 16}: index offset ${tIndexOffset}, want ${HEADER_SIZE}`);
  const wantTable = BigInt(TABLE_HEADER_SIZE + n * ITEM_SIZE + TAIL_SIZE);
  if (tTableSize !== wantTable) throw new IndexFormatError(`bad tail at byte ${tail + 24}: table size ${tTableSize}, want ${wantTable}`);
  if (tMarker !== CA_FORMAT_TABLE_TAIL_MARKER) throw new IndexFormatError(`bad tail marker 0x${tMarker.toString(16)} at byte ${tail + 32}`);
  const ends = new Float64Array(n);
  const ids = Buffer.alloc(n * ID_SIZE);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const at = HEADER_SIZE + TABLE_HEADER_SIZE + i * ITEM_SIZE;
    const end = u64(buf, at, `chunk ${i} end`);
    if (end <= prev) throw new IndexFormatError(`chunk ${i} end ${end} at byte ${at} is not after the previous end ${prev}`);
    if (end - prev > chunkMax) throw new IndexFormatError(`chunk ${i} is ${end - prev} bytes, larger than the max ${chunkMax}`);
    ends[i] = end;
    buf.copy(ids, i * ID_SIZE, at + 8, at + ITEM_SIZE);
    prev = end;
  }
  return { flags, chunkMin, chunkAvg, chunkMax, ends, ids };
}

/** Builds an index incrementally; `finish()` returns the file bytes. */
export class IndexWriter {
  private parts: Buffer[] = [];
  private cur = Buffer.alloc(64 * ITEM_SIZE);
  private used = 0;
  private lastEnd = 0;
  count = 0;

  constructor(readonly chunkMin: number, readonly chunkAvg: number, readonly chunkMax: number, readonly flags = CASYNC_DEFAULT_FLAGS) {}

  add(end: number, id: Buffer): void {
    if (end <= this.lastEnd) throw new IndexFormatError(`chunk end ${end} is not after ${this.lastEnd}`);
    if (id.length !== ID_SIZE) throw new IndexFormatError(`chunk id is ${id.length} bytes`);
    if (this.used === this.cur.length) {
      this.parts.push(this.cur);
      this.cur = Buffer.alloc(this.cur.length * 2);
      this.used = 0;
    }
    this.cur.writeBigUInt64LE(BigInt(end), this.used);
    id.copy(this.cur, this.used + 8);
    this.used += ITEM_SIZE;
    this.lastEnd = end;
    this.count++;
  }

  finish(): Buffer {
    const head = Buffer.alloc(HEADER_SIZE + TABLE_HEADER_SIZE);
    head.writeBigUInt64LE(BigInt(HEADER_SIZE), 0);
    head.writeBigUInt64LE(CA_FORMAT_INDEX, 8);
    head.writeBigUInt64LE(this.flags, 16);
    head.writeBigUInt64LE(BigInt(this.chunkMin), 24);
    head.writeBigUInt64LE(BigInt(this.chunkAvg), 32);
    head.writeBigUInt64LE(BigInt(this.chunkMax), 40);
    head.writeBigUInt64LE(0xffffffffffffffffn, 48);
    head.writeBigUInt64LE(CA_FORMAT_TABLE, 56);
    const tail = Buffer.alloc(TAIL_SIZE);
    tail.writeBigUInt64LE(BigInt(HEADER_SIZE), 16);
    tail.writeBigUInt64LE(BigInt(TABLE_HEADER_SIZE + this.count * ITEM_SIZE + TAIL_SIZE), 24);
    tail.writeBigUInt64LE(CA_FORMAT_TABLE_TAIL_MARKER, 32);
    return Buffer.concat([head, ...this.parts, this.cur.subarray(0, this.used), tail]);
  }
}

export function encodeIndex(index: CaibxIndex): Buffer {
  const w = new IndexWriter(index.chunkMin, index.chunkAvg, index.chunkMax, index.flags);
  for (let i = 0; i < index.ends.length; i++) w.add(index.ends[i]!, chunkId(index, i));
  return w.finish();
}
