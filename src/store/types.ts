// What the serving side (HTTP Range, NBD) needs from an image version: random reads.

export interface ImageReader {
  /** Size of the assembled image in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset` (the caller keeps offset + length ≤ size). Rejects on a corrupt chunk. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * The same bytes as read(), as a list of views into cached chunks: no copy for a read that
   * spans chunks (most NBD reads with 64 KiB content-defined chunks). Do not modify them.
   */
  readPieces?(offset: number, length: number): Promise<Buffer[]>;
}
