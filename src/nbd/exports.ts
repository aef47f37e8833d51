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

/**
 * Reads [offset, offset+length) of the padded export as pieces (the reader's views when it
 * offers them, so a read across chunks is written out without a copy); the caller keeps it
 * within exportSize().
 */
export async function readPadded(reader: ImageReader, offset: number, length: number): Promise<Buffer[]> {
  const size = reader.size;
  const inside = Math.min(length, Math.max(0, size - offset));
  const pieces = inside === 0 ? [] : reader.readPieces ? await reader.readPieces(offset, inside) : [await reader.read(offset, inside)];
  checked(pieces, inside);
  if (inside < length) pieces.push(Buffer.alloc(length - inside));
  return pieces;
}

/** A reader that returns the wrong number of bytes would desynchronise the stream: refuse it. */
function checked(pieces: Buffer[], length: number): void {
  const got = pieces.reduce((a, p) => a + p.length, 0);
  if (got !== length) throw new Error(`reader returned ${got} bytes, expected ${length}`);
}
