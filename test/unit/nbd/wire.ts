// Test-side NBD wire helpers: what a client sends, and a decoder for what the server answers.
import type { Transport } from '../../../src/nbd/session.ts';
import * as P from '../../../src/nbd/protocol.ts';

export function clientFlags(flags = P.CLIENT_FIXED_NEWSTYLE | P.CLIENT_NO_ZEROES): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags >>> 0, 0);
  return b;
}

export function option(opt: number, data: Buffer = Buffer.alloc(0), declaredLength = data.length): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(P.IHAVEOPT, 0);
  h.writeUInt32BE(opt >>> 0, 8);
  h.writeUInt32BE(declaredLength >>> 0, 12);
  return Buffer.concat([h, data]);
}

export function infoData(name: string, items: number[] = []): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(4 + n.length + 2 + 2 * items.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  b.writeUInt16BE(items.length, 4 + n.length);
  items.forEach((it, i) => b.writeUInt16BE(it, 6 + n.length + 2 * i));
  return b;
}

export function request(type: number, handle: number, offset: number, length: number, flags = 0): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(P.REQUEST_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(BigInt(handle), 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length >>> 0, 24);
  return b;
}

/** Collects what the session writes; `async` ending like a real socket. */
export class FakeTransport implements Transport {
  out: Buffer[] = [];
  ended = false;
  destroyed = false;
  paused = false;
  writesAfterClose = 0;
  /** write() returns false after this many bytes (backpressure tests). */
  highWater = Infinity;
  private bytes = 0;

  /** false: keep only the first chunk written (fuzzing, where replies can be megabytes). */
  keep = true;

  write(chunks: Buffer[]): boolean {
    if (this.ended || this.destroyed) this.writesAfterClose++;
    for (const c of chunks) {
      if (this.keep || this.out.length === 0) this.out.push(Buffer.from(c));
      this.bytes += c.length;
    }
    return this.bytes < this.highWater;
  }
  pauseInput(): void { this.paused = true; }
  resumeInput(): void { this.paused = false; }
  end(): void { this.ended = true; }
  destroy(): void { this.destroyed = true; }
  get closed(): boolean { return this.ended || this.destroyed; }
  take(): Buffer {
    const b = Buffer.concat(this.out);
    this.out = [];
    return b;
  }
}

export interface OptReply { option: number; type: number; data: Buffer }

/** Decodes option replies from `buf` (after the greeting). */
export function decodeOptionReplies(buf: Buffer): OptReply[] {
  const out: OptReply[] = [];
  let p = 0;
  while (p + 20 <= buf.length) {
    if (buf.readBigUInt64BE(p) !== P.OPT_REPLY_MAGIC) throw new Error(`bad option reply magic at ${p}`);
    const len = buf.readUInt32BE(p + 16);
    out.push({ option: buf.readUInt32BE(p + 8), type: buf.readUInt32BE(p + 12), data: buf.subarray(p + 20, p + 20 + len) });
    p += 20 + len;
  }
  if (p !== buf.length) throw new Error(`trailing ${buf.length - p} bytes after option replies`);
  return out;
}

export interface Reply { handle: number; error: number; data?: Buffer; offset?: number; message?: string; structured: boolean }

/** Decodes transmission replies; simple READ replies need the request lengths by handle. */
export function decodeReplies(buf: Buffer, readLengths: Map<number, number> = new Map()): Reply[] {
  const out: Reply[] = [];
  let p = 0;
  while (p < buf.length) {
    const magic = buf.readUInt32BE(p);
    if (magic === P.SIMPLE_REPLY_MAGIC) {
      const error = buf.readUInt32BE(p + 4);
      const handle = Number(buf.readBigUInt64BE(p + 8));
      p += 16;
      const len = error === 0 ? readLengths.get(handle) ?? 0 : 0;
      out.push({ handle, error, structured: false, ...(len ? { data: buf.subarray(p, p + len) } : {}) });
      p += len;
    } else if (magic === P.STRUCTURED_REPLY_MAGIC) {
      const flags = buf.readUInt16BE(p + 4);
      const type = buf.readUInt16BE(p + 6);
      const handle = Number(buf.readBigUInt64BE(p + 8));
      const len = buf.readUInt32BE(p + 16);
      const payload = buf.subarray(p + 20, p + 20 + len);
      p += 20 + len;
      if (!(flags & P.REPLY_FLAG_DONE)) throw new Error('multi-chunk replies not expected');
      if (type === P.REPLY_TYPE_OFFSET_DATA) out.push({ handle, error: 0, structured: true, offset: Number(payload.readBigUInt64BE(0)), data: payload.subarray(8) });
      else if (type === P.REPLY_TYPE_NONE) out.push({ handle, error: 0, structured: true });
      else if (type === P.REPLY_TYPE_ERROR) {
        const ml = payload.readUInt16BE(4);
        out.push({ handle, error: payload.readUInt32BE(0), structured: true, message: payload.subarray(6, 6 + ml).toString() });
      } else throw new Error(`unexpected chunk type ${type}`);
    } else throw new Error(`bad reply magic 0x${magic.toString(16)} at ${p}`);
  }
  return out;
}

export const tick = () => new Promise<void>((r) => setImmediate(r));
