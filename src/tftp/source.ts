// Where a transfer's bytes come from: a whole file held in memory (generated files, netascii,
// small hot files such as the iPXE binaries), or a big file read block by block.
import fs from 'node:fs';

export interface BlockSource {
  readonly size: number;
  /**
   * Copies `len` bytes at `pos` into `dst` at `dstOff` and returns true, or returns false when
   * it cannot now: call load(pos), then ask again (load rejects if the bytes cannot be had).
   */
  copy(pos: number, len: number, dst: Buffer, dstOff: number): boolean;
  load(pos: number): Promise<void>;
  close(): void;
  /**
   * Bytes that never change while the transfer runs (a file held in memory) can be sent as
   * they are, behind a separate 4-byte header, instead of being copied into a packet first.
   */
  view?(pos: number, len: number): Buffer;
  /**
   * Where a socket's lock-step relay (native/lockstep.c) takes the blocks from: the whole file
   * in memory, or the descriptor it reads them from (still owned by this source).
   */
  readonly relay?: { data: Buffer; fd: -1 } | { data: null; fd: number };
}

export class MemorySource implements BlockSource {
  readonly size: number;
  readonly relay: { data: Buffer; fd: -1 };
  constructor(private readonly data: Buffer) {
    this.size = data.length;
    this.relay = { data, fd: -1 };
  }
  copy(pos: number, len: number, dst: Buffer, dstOff: number): boolean {
    this.data.copy(dst, dstOff, pos, pos + len);
    return true;
  }
  async load(): Promise<void> {}
  close(): void {}
  view(pos: number, len: number): Buffer {
    return this.data.subarray(pos, pos + len);
  }
}

/**
 * A big file, read block by block straight into the packet, synchronously: what tftpd-hpa does
 * (read() then sendto()). From the page cache a 64 KiB read costs ~16 us on the bench VM, about
 * what the copy alone costs; the earlier read-ahead of 256 KiB pieces through the libuv
 * threadpool added a thread hop, a wake-up of the event loop and three piece buffers per
 * transfer (at 65464 on a 50 MB file: 0.84-0.89x of tftpd-hpa, this 0.86-0.91x; RESULTS.md,
 * 2026-12-06 04:27). A cold file is read ahead by the kernel, which follows sequential reads;
 * what it has not read yet blocks this thread's transfers for that read, as it blocks a
 * forking server's one transfer. Transfers run on their own threads when the host has two cores
 * or more (server.ts); on one core they share the main thread, and such a read holds up DHCP and
 * HTTP for its length too.
 */
export class FileSource implements BlockSource {
  private failure: Error | undefined;
  private closed = false;

  readonly relay: { data: null; fd: number };
  constructor(private readonly fd: number, readonly size: number) {
    this.relay = { data: null, fd };
  }

  copy(pos: number, len: number, dst: Buffer, dstOff: number): boolean {
    if (this.failure) return false;
    try {
      for (let done = 0; done < len;) {
        const n = fs.readSync(this.fd, dst, dstOff + done, len - done, pos + done);
        if (n === 0) throw new Error('file shrank during the transfer');
        done += n;
      }
      return true;
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      return false;
    }
  }

  /** Nothing is ever pending: a copy() that returned false failed, and this reports why. */
  load(): Promise<void> {
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.close(this.fd, () => undefined);
  }
}

/** RFC 1350 netascii: CR LF line ends and CR NUL for a bare CR. */
export function toNetascii(data: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0x0a || data[i] === 0x0d) extra++;
  if (extra === 0) return data;
  const out = Buffer.allocUnsafe(data.length + extra);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 0x0a) { out[o++] = 0x0d; out[o++] = 0x0a; }
    else if (c === 0x0d) { out[o++] = 0x0d; out[o++] = 0x00; }
    else out[o++] = c;
  }
  return out;
}
