// Raw files as NBD exports, for tests and for the benchmark's "no store" baseline: the same
// server code with the chunk store taken out of the picture.
import fs from 'node:fs/promises';
import type { NbdExportReader, NbdExports } from '../../../src/nbd/exports.ts';
import type { ImageReader } from '../../../src/store/types.ts';

export async function openFileReader(file: string): Promise<ImageReader & { close(): Promise<void> }> {
  const fh = await fs.open(file, 'r');
  const { size } = await fh.stat();
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw new Error(`${file}: short read at ${offset + got}`);
        got += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}

/** name → file; readers are opened once and shared by every connection. */
export function fileExports(files: Record<string, string>, descriptions: Record<string, string> = {}): NbdExports & { close(): Promise<void> } {
  const open = new Map<string, Promise<ImageReader & { close(): Promise<void> }>>();
  return {
    async list() {
      return Object.keys(files).map((name) => ({ name, description: descriptions[name] }));
    },
    async open(name): Promise<NbdExportReader | undefined> {
      const file = Object.hasOwn(files, name) ? files[name] : undefined;
      if (file === undefined) return undefined;
      let r = open.get(name);
      if (!r) { r = openFileReader(file); open.set(name, r); }
      const reader = await r;
      return { size: reader.size, read: (o, l) => reader.read(o, l), description: descriptions[name] };
    },
    async close() {
      for (const r of open.values()) await (await r).close();
      open.clear();
    },
  };
}

/** In-memory exports (unit tests, fuzz): `fail` makes reads overlapping it reject like a corrupt chunk. */
export function memoryExports(images: Record<string, Buffer>, opts: { fail?: { offset: number; length: number } } = {}): NbdExports {
  return {
    async list() {
      return Object.keys(images).map((name) => ({ name, description: `${name} in memory` }));
    },
    async open(name) {
      const img = Object.hasOwn(images, name) ? images[name] : undefined;
      if (!img) return undefined;
      return {
        size: img.length,
        description: `${name} in memory`,
        async read(offset: number, length: number) {
          const f = opts.fail;
          if (f && offset < f.offset + f.length && f.offset < offset + length) throw new Error('corrupt chunk');
          return img.subarray(offset, offset + length);
        },
      };
    },
  };
}
