// Which casper layer an Ubuntu initrd boots by default. livecd-rootfs writes
// conf/conf.d/default-layer.conf ("LAYERFS_PATH=minimal.standard.live.squashfs") into the live
// layer's initramfs (hook 020-ubuntu-live.chroot_early), and casper's scripts/casper reads it
// unless the kernel line says layerfs-path=. An initrd is newc cpio archives back to back: an
// uncompressed early one (CPU microcode), then the main one compressed (zstd since 23.10, gzip
// before; initramfs-tools ≥ 0.146 may split it into several). We stream it and stop at the file:
// conf/ sorts early in the main archive, so a few megabytes are decompressed, not the whole.
import { createGunzip } from 'node:zlib';
import { Readable, type Transform } from 'node:stream';
// The low-level binding, not zstd-napi's DecompressStream: that Transform pushes everything one
// input chunk expands to before it looks at backpressure, so a 130 KB zstd frame of zeros held
// 4 GB in memory (8.7 GB RSS). Here each 128 KiB of output waits for the reader to ask for it.
import zstd from 'zstd-napi/binding.js';

export type InitrdLayer =
  | { readable: true; layerfsPath: string | undefined }
  | { readable: false; why: string };

const CONF = 'conf/conf.d/default-layer.conf';
const HEADER = 110;
/**
 * Decompressed bytes read before giving up: Ubuntu's main archive is a few hundred MB and conf/
 * sorts near its start; a compression bomb (a small initrd expanding to terabytes) stops here.
 */
export const MAX_DECOMPRESSED = 1024 ** 3;
/** PATH_MAX: a longer cpio name is damage, not a file. */
const MAX_NAME = 4096;

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

/** An 8-digit hex field, or NaN: parseInt alone would read "12zz…" as 0x12 and "-0000001" as -1. */
const hex = (h: Buffer, at: number) => {
  const f = h.toString('latin1', at, at + 8);
  return /^[0-9A-Fa-f]{8}$/.test(f) ? parseInt(f, 16) : NaN;
};
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function layerOf(conf: string): string | undefined {
  for (const line of conf.split('\n')) {
    const m = /^\s*(?:export\s+)?LAYERFS_PATH=(["']?)([^"'\s]*)\1\s*$/.exec(line);
    if (m) return m[2] || undefined;
  }
  return undefined;
}

type Found = { layer: string | undefined } | 'end' | { compressed: Buffer } | { damaged: string };

/**
 * Reads newc archives until the conf file, the end, or something that is not a cpio header. The
 * end counts only after a TRAILER!!!: a cut or corrupt archive is damage (then the ISO's layer
 * names decide, casper-layers.ts), not "no default-layer.conf" (which means: mount every layer).
 */
async function scanArchives(p: Pull): Promise<Found> {
  let afterTrailer = false;
  for (;;) {
    await p.skipZeros();
    if (!(await p.fill(6))) return afterTrailer ? 'end' : { damaged: 'the cpio archive ends without its TRAILER!!! entry (cut short?)' };
    const magic = p.peek(6).toString('latin1');
    if (magic !== '070701' && magic !== '070702') return { compressed: Buffer.from(p.peek(6)) };
    const h = await p.take(HEADER);
    if (!h) return { damaged: 'cut inside a cpio header' };
    const fileSize = hex(h, 54);
    const nameSize = hex(h, 94);
    if (!Number.isFinite(fileSize) || !Number.isFinite(nameSize)) return { damaged: 'a cpio header with a size that is not 8 hex digits' };
    if (nameSize < 1 || nameSize > MAX_NAME) return { damaged: `a cpio header with a name of ${nameSize} bytes` };
    const nameBuf = await p.take(nameSize + pad4(HEADER + nameSize));
    if (!nameBuf) return { damaged: 'cut inside a cpio file name' };
    const name = nameBuf.subarray(0, nameSize - 1).toString('utf8').replace(/^\.\//, '');
    afterTrailer = name === 'TRAILER!!!';
    if (afterTrailer) continue;
    if (name === CONF && fileSize < 65536) {
      const data = await p.take(fileSize + pad4(fileSize));
      if (!data) return { damaged: `cut inside ${CONF}` };
      return { layer: layerOf(data.subarray(0, fileSize).toString('utf8')) };
    }
    if (!(await p.skip(fileSize + pad4(fileSize)))) return { damaged: `cut inside ${name.slice(0, 100)} (${fileSize} bytes)` };
  }
}

/** Counts what the decompressors hand out, all levels together, and stops at MAX_DECOMPRESSED. */
async function* bounded(src: AsyncIterable<Uint8Array>, budget: { left: number; max: number }): AsyncGenerator<Uint8Array> {
  for await (const b of src) {
    budget.left -= b.length;
    if (budget.left < 0) throw new Error(`more than ${Math.round(budget.max / 1024 ** 2)} MiB decompressed without finding ${CONF} (a compression bomb?)`);
    yield b;
  }
}

/** zstd frames, one output buffer at a time (ZSTD_decompressStream), as the reader pulls. */
async function* unzstd(src: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const dctx = new zstd.DCtx();
  const out = Buffer.allocUnsafe(zstd.dStreamOutSize());
  let inFrame = false;
  for await (const chunk of src) {
    let s = chunk;
    for (;;) {
      const [ret, produced, consumed] = dctx.decompressStream(out, s);
      if (produced === 0 && consumed === 0 && s.length) throw new Error('zstd: no progress (corrupt frame)');
      s = s.subarray(consumed);
      inFrame = ret !== 0;
      if (produced) yield Buffer.from(out.subarray(0, produced));
      if (!s.length && (produced < out.length || ret === 0)) break;
    }
  }
  if (inFrame) throw new Error('zstd: the stream ends in the middle of a frame');
}

function decompressor(magic: Buffer): 'gzip' | 'zstd' | undefined {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return undefined;
}

/** LAYERFS_PATH from the initrd's conf/conf.d/default-layer.conf, or why the initrd could not be read. */
export async function initrdLayer(bytes: AsyncIterable<Uint8Array>, maxDecompressed = MAX_DECOMPRESSED): Promise<InitrdLayer> {
  const source = bytes[Symbol.asyncIterator]();
  let p = new Pull(source);
  const streams: (Transform | Readable)[] = [];
  const budget = { left: maxDecompressed, max: maxDecompressed };
  try {
    for (let depth = 0; depth < 4; depth++) {
      const r = await scanArchives(p);
      if (r === 'end') return { readable: true, layerfsPath: undefined };
      if ('damaged' in r) return { readable: false, why: r.damaged };
      if ('layer' in r) return { readable: true, layerfsPath: r.layer };
      const kind = decompressor(r.compressed);
      if (!kind) return { readable: false, why: `compressed with a format other than zstd or gzip (magic ${r.compressed.subarray(0, 4).toString('hex')})` };
      let out: AsyncIterable<Uint8Array>;
      if (kind === 'zstd') out = unzstd(p.rest());
      else {
        // zlib's Transform honours backpressure: it inflates only as fast as it is read.
        const d = createGunzip();
        const feed = Readable.from(p.rest());
        streams.push(feed, d);
        feed.on('error', (err) => d.destroy(err));
        feed.pipe(d);
        out = d;
      }
      p = new Pull(bounded(out, budget)[Symbol.asyncIterator]());
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
