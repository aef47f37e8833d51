// What the NBD server needs from the rest of the appliance: a list of export names and a way
// to open one as a random-access reader. Injected, so src/nbd/ never reaches into the store's
// internals and tests can serve a plain file.
import type { ImageReader } from '../store/types.ts';

export interface NbdExportInfo {
  /** `NAME` (current version) or `NAME@VERSION` (fixed), see src/store/urls.ts nbdExportName. */
  name: string;
  description?: string | undefined;
}

/** An opened export. A connection keeps the reader it opened for its whole life: a new image
 * version published meanwhile must not change the bytes under a mounted file system. */
export type NbdExportReader = ImageReader & { readonly description?: string | undefined };

export interface NbdExports {
  list(): Promise<NbdExportInfo[]>;
  /** undefined = no such export. */
  open(name: string): Promise<NbdExportReader | undefined>;
}

const SECTOR = 512;

/**
 * The size we advertise: the image size rounded up to 512 bytes, the pad read as zeros.
 * The store pads images to 4 KiB, so this only matters for other readers; but a size that is
 * not a whole number of sectors makes the kernel client drop the partial last sector and older
 * qemu refuse or round past the end. Zeros past the end of a file system are harmless.
 */
export function exportSize(reader: ImageReader): number {
  return Math.ceil(reader.size / SECTOR) * SECTOR;
}

/** Reads [offset, offset+length) of the padded export; the caller keeps it within exportSize(). */
export async function readPadded(reader: ImageReader, offset: number, length: number): Promise<Buffer> {
  const size = reader.size;
  if (offset + length <= size) return checked(await reader.read(offset, length), length);
  const out = Buffer.alloc(length);
  if (offset < size) checked(await reader.read(offset, size - offset), size - offset).copy(out, 0);
  return out;
}

/** A reader that returns the wrong number of bytes would desynchronise the stream: refuse it. */
function checked(buf: Buffer, length: number): Buffer {
  if (buf.length !== length) throw new Error(`reader returned ${buf.length} bytes, expected ${length}`);
  return buf;
}
