// Which casper layer an Ubuntu initrd boots by default. livecd-rootfs writes
// conf/conf.d/default-layer.conf ("LAYERFS_PATH=minimal.standard.live.squashfs") into the live
// layer's initramfs (hook 020-ubuntu-live.chroot_early), and casper's scripts/casper reads it
// unless the kernel line says layerfs-path=. An initrd is newc cpio archives back to back: an
// uncompressed early one (CPU microcode), then the main one compressed (zstd since 23.10, gzip
// before; initramfs-tools ≥ 0.146 may split it into several). We stream it and stop at the file:
// conf/ sorts early in the main archive, so a few megabytes are decompressed, not the whole.
import { createGunzip } from 'node:zlib';
import { Readable, type Transform } from 'node:stream';
import { DecompressStream } from 'zstd-napi';

export type InitrdLayer =
  | { readable: true; layerfsPath: string | undefined }
  | { readable: false; why: string };

const CONF = 'conf/conf.d/default-layer.conf';
const HEADER = 110;

/** Pulls exact byte counts out of a chunked stream without joining more than a header's worth. */
class Pull {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
    return this.buf.length >= n;
  }

  peek(n: number): Buffer { return this.buf.subarray(0, n); }

  async take(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const out = Buffer.from(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return out;
  }

  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (!this.buf.length && !(await this.fill(1))) return false;
      const k = Math.min(n, this.buf.length);
      this.buf = this.buf.subarray(k);
      n -= k;
    }
    return true;
  }

  /** Skips the zero padding between archives (initramfs-tools pads to 512 bytes). */
  async skipZeros(): Promise<void> {
    for (;;) {
      if (!this.buf.length && !(await this.fill(1))) return;
      const i = this.buf.findIndex((b) => b !== 0);
      if (i >= 0) { this.buf = this.buf.subarray(i); return; }
      this.buf = Buffer.alloc(0);
    }
  }

  /** What is left: the buffered bytes, then the rest of the source. */
  async *rest(): AsyncGenerator<Uint8Array> {
    if (this.buf.length) yield this.buf;
    this.buf = Buffer.alloc(0);
    for (;;) {
      const r = await this.it.next();
      if (r.done) return;
      yield r.value;
    }
  }
}

const hex = (h: Buffer, at: number) => parseInt(h.subarray(at, at + 8).toString('latin1'), 16);
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function layerOf(conf: string): string | undefined {
  for (const line of conf.split('\n')) {
    const m = /^\s*(?:export\s+)?LAYERFS_PATH=(["']?)([^"'\s]*)\1\s*$/.exec(line);
    if (m) return m[2] || undefined;
  }
  return undefined;
}

type Found = { layer: string | undefined } | 'end' | { compressed: Buffer };

/** Reads newc archives until the conf file, the end, or something that is not a cpio header. */
async function scanArchives(p: Pull): Promise<Found> {
  for (;;) {
    await p.skipZeros();
    if (!(await p.fill(6))) return 'end';
    const magic = p.peek(6).toString('latin1');
    if (magic !== '070701' && magic !== '070702') return { compressed: Buffer.from(p.peek(6)) };
    const h = await p.take(HEADER);
    if (!h) return 'end';
    const fileSize = hex(h, 54);
    const nameSize = hex(h, 94);
    if (!Number.isFinite(fileSize) || !Number.isFinite(nameSize) || nameSize < 1 || nameSize > 4096) return 'end';
    const nameBuf = await p.take(nameSize + pad4(HEADER + nameSize));
    if (!nameBuf) return 'end';
    const name = nameBuf.subarray(0, nameSize - 1).toString('utf8').replace(/^\.\//, '');
    if (name === 'TRAILER!!!') continue;
    if (name === CONF && fileSize < 65536) {
      const data = await p.take(fileSize + pad4(fileSize));
      return { layer: data ? layerOf(data.subarray(0, fileSize).toString('utf8')) : undefined };
    }
    if (!(await p.skip(fileSize + pad4(fileSize)))) return 'end';
  }
}

function decompressor(magic: Buffer): (() => Transform) | undefined {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return () => createGunzip();
  if (magic.readUInt32LE(0) === 0xfd2fb528) return () => new DecompressStream();
  return undefined;
}

/** LAYERFS_PATH from the initrd's conf/conf.d/default-layer.conf, or why the initrd could not be read. */
export async function initrdLayer(bytes: AsyncIterable<Uint8Array>): Promise<InitrdLayer> {
  const source = bytes[Symbol.asyncIterator]();
  let p = new Pull(source);
  const streams: (Transform | Readable)[] = [];
  try {
    for (let depth = 0; depth < 4; depth++) {
      const r = await scanArchives(p);
      if (r === 'end') return { readable: true, layerfsPath: undefined };
      if ('layer' in r) return { readable: true, layerfsPath: r.layer };
      const make = decompressor(r.compressed);
      if (!make) return { readable: false, why: `compressed with a format other than zstd or gzip (magic ${r.compressed.subarray(0, 4).toString('hex')})` };
      const d = make();
      const feed = Readable.from(p.rest());
      streams.push(feed, d);
      feed.on('error', (err) => d.destroy(err));
      feed.pipe(d);
      p = new Pull(d[Symbol.asyncIterator]());
    }
    return { readable: false, why: 'nested too deep' };
  } catch (err) {
    return { readable: false, why: err instanceof Error ? err.message : String(err) };
  } finally {
    // Found early: stop the decompressors and close the source (readRanges holds the ISO open).
    for (const s of streams) s.destroy();
    await source.return?.().catch(() => {});
  }
}
