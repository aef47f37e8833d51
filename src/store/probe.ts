// What kind of file is this image? Magic numbers first, then the file system's own idea of its
// length, so a truncated image is refused with the numbers instead of booting half a disk.
import fs from 'node:fs/promises';

export type ImageKind = 'qcow2' | 'iso' | 'squashfs' | 'ext4' | 'disk' | 'raw';

export interface Probe {
  kind: ImageKind;
  size: number;
  /** Bytes the file system says it spans (squashfs bytes_used, ext blocks × block size). */
  fsBytes?: number;
}

export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageInputError';
  }
}

/** Classifies a header (at least 64 KiB or the whole file) of a file of `size` bytes. */
export function classify(head: Buffer, size: number, what: string): Probe {
  if (size === 0) throw new ImageInputError(`${what}: the file is empty`);
  if (head.length >= 4 && head.readUInt32BE(0) === 0x514649fb) return { kind: 'qcow2', size };
  // ISO 9660: the primary volume descriptor at sector 16 starts with 1 "CD001" (ECMA-119 §8.4).
  if (head.length >= 32774 && head.toString('latin1', 32769, 32774) === 'CD001') return { kind: 'iso', size };
  if (head.length >= 48 && head.toString('latin1', 0, 4) === 'hsqs') {
    const major = head.readUInt16LE(28);
    if (major !== 4) throw new ImageInputError(`${what}: squashfs version ${major} is not supported (want 4)`);
    const bytesUsed = Number(head.readBigUInt64LE(40));
    if (bytesUsed > size) throw new ImageInputError(`${what}: squashfs is truncated: its superblock says ${bytesUsed} bytes, the file has ${size}`);
    return { kind: 'squashfs', size, fsBytes: bytesUsed };
  }
  if (head.length >= 2048 && head.readUInt16LE(1024 + 56) === 0xef53) {
    const sb = 1024;
    const logBlock = head.readUInt32LE(sb + 24);
    if (logBlock > 6) throw new ImageInputError(`${what}: ext superblock has an impossible block size (log ${logBlock})`);
    const blockSize = 1024 << logBlock;
    const incompat = head.readUInt32LE(sb + 0x60);
    const hi = incompat & 0x80 ? head.readUInt32LE(sb + 0x150) : 0;
    const blocks = hi * 2 ** 32 + head.readUInt32LE(sb + 4);
    const fsBytes = blocks * blockSize;
    if (fsBytes > size) throw new ImageInputError(`${what}: ext file system is truncated: it spans ${fsBytes} bytes (${blocks} blocks of ${blockSize}), the file has ${size}`);
    return { kind: 'ext4', size, fsBytes };
  }
  if (head.length >= 520 && (head.readUInt16LE(510) === 0xaa55 || head.toString('latin1', 512, 520) === 'EFI PART')) return { kind: 'disk', size };
  return { kind: 'raw', size };
}

export async function probeFile(file: string): Promise<Probe> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    throw new ImageInputError(`${file}: cannot open: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isBlockDevice()) throw new ImageInputError(`${file}: not a regular file or block device`);
    const size = st.isFile() ? st.size : await blockDeviceSize(fh);
    const head = Buffer.alloc(Math.min(size, 65536));
    await fh.read(head, 0, head.length, 0);
    return classify(head, size, file);
  } finally {
    await fh.close();
  }
}

async function blockDeviceSize(fh: fs.FileHandle): Promise<number> {
  // lseek(SEEK_END) is what Node lacks; reading backwards from a bound is enough to find the end.
  const buf = Buffer.alloc(1);
  let lo = 0;
  let hi = 2 ** 50;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const { bytesRead } = await fh.read(buf, 0, 1, mid - 1);
    if (bytesRead === 1) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
