// What the serving side (HTTP Range, NBD) needs from an image version: random reads.

export interface ImageReader {
  /** Size of the assembled image in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset` (the caller keeps offset + length ≤ size). Rejects on a corrupt chunk. */
  read(offset: number, length: number): Promise<Buffer>;
}
