// A crafted ISO's casper/ names, published into the NFS/CIFS export: names with "/" or "..",
// NUL, "." and "..", a folder named like a layer, a Rock Ridge name longer than a Linux file
// name can be (NM entries continued through CE). Nothing may be written outside the version's
// folder, and one unusable name must not stop the other files from being published.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishVersion } from '../../../src/boot/publish.ts';
import type { ImageReader } from '../../../src/store/types.ts';

const SECTOR = 2048;

function both32(v: number): Buffer { const b = Buffer.alloc(8); b.writeUInt32LE(v, 0); b.writeUInt32BE(v, 4); return b; }

function nm(name: Buffer): Buffer { return Buffer.concat([Buffer.from([0x4e, 0x4d, 5 + name.length, 1, 0]), name]); }

function record(id: Buffer, lba: number, length: number, flags: number, su: Buffer = Buffer.alloc(0)): Buffer {
  const pad = id.length % 2 === 0 ? 1 : 0;
  let len = 33 + id.length + pad + su.length;
  if (len % 2) len++;
  const r = Buffer.alloc(len);
  r[0] = len;
  both32(lba).copy(r, 2);
  both32(length).copy(r, 10);
  r[25] = flags;
  r.writeUInt16LE(1, 28); r.writeUInt16BE(1, 30);
  r[32] = id.length;
  id.copy(r, 33);
  su.copy(r, 33 + id.length + pad);
  return r;
}

/** An ISO 9660 image: root → CASPER/ → the given files (Rock Ridge names), each SECTOR bytes of its own letter. */
function craftIso(files: { nm: Buffer; dir?: boolean; ce?: Buffer }[]): Buffer {
  const ROOT = 20, CASPER = 21, CE = 22, DATA = 23;
  const img = Buffer.alloc((DATA + files.length) * SECTOR);
  img[16 * SECTOR] = 1; img.write('CD001', 16 * SECTOR + 1, 'latin1'); img[16 * SECTOR + 6] = 1;
  record(Buffer.from([0]), ROOT, SECTOR, 2).copy(img, 16 * SECTOR + 156);
  Buffer.concat([record(Buffer.from([0]), ROOT, SECTOR, 2), record(Buffer.from([1]), ROOT, SECTOR, 2), record(Buffer.from('CASPER'), CASPER, SECTOR, 2, nm(Buffer.from('casper')))]).copy(img, ROOT * SECTOR);
  const recs = [record(Buffer.from([0]), CASPER, SECTOR, 2), record(Buffer.from([1]), ROOT, SECTOR, 2)];
  let ceAt = 0;
  files.forEach((f, i) => {
    img.fill(0x61 + i, (DATA + i) * SECTOR, (DATA + i + 1) * SECTOR);
    let su = nm(f.nm);
    if (f.ce) {
      f.ce.copy(img, CE * SECTOR + ceAt);
      const ce = Buffer.alloc(28);
      ce.write('CE', 0, 'latin1'); ce[2] = 28; ce[3] = 1;
      both32(CE).copy(ce, 4); both32(ceAt).copy(ce, 12); both32(f.ce.length).copy(ce, 20);
      su = Buffer.concat([su, ce]);
      ceAt += f.ce.length;
    }
    recs.push(record(Buffer.from(`F${i};1`), DATA + i, SECTOR, f.dir ? 2 : 0, su));
  });
  Buffer.concat(recs).copy(img, CASPER * SECTOR);
  return img;
}

const reader = (img: Buffer): ImageReader => ({ size: img.length, read: async (o, l) => img.subarray(o, o + l) });

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

test('crafted casper/ names stay inside the version folder; an overlong name does not stop the rest', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-publish-'));
  try {
    const exportDir = path.join(top, 'export');
    fs.mkdirSync(exportDir);
    const long = Buffer.concat(Array.from({ length: 5 }, () => nm(Buffer.from('L'.repeat(200)))));
    const img = craftIso([
      { nm: Buffer.from('filesystem.squashfs') },
      { nm: Buffer.from('../../../escaped') },
      { nm: Buffer.from('a/../../b') },
      { nm: Buffer.from('..') },
      { nm: Buffer.from('.') },
      { nm: Buffer.from('nul\0name') },
      { nm: Buffer.from('back\\..\\slash') },
      { nm: Buffer.from('minimal.squashfs'), dir: true },
      { nm: Buffer.from('L'), ce: long },
      { nm: Buffer.from('install-sources.yaml') },
    ]);
    const r = await publishVersion({ exportDir, image: 'noble', version: 1, flavor: 'casper', reader: reader(img), rootKind: 'iso' });
    const media = path.join(exportDir, 'noble', '1', 'casper');
    assert.equal(r.rootPath, media);
    assert.deepEqual(walk(top).map((f) => path.relative(top, f)).sort(), ['export/noble/1/casper/filesystem.squashfs', 'export/noble/1/casper/install-sources.yaml']);
    assert.equal(fs.readFileSync(path.join(media, 'filesystem.squashfs'))[0], 0x61);
    assert.equal(fs.readFileSync(path.join(media, 'install-sources.yaml'))[0], 0x61 + 9);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test('an image name that is not one folder is refused before anything is written', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-publish-'));
  try {
    const img = craftIso([{ nm: Buffer.from('filesystem.squashfs') }]);
    for (const image of ['..', '.', '../x', 'a/b', 'a\\b', 'a\0b', '']) {
      await assert.rejects(publishVersion({ exportDir: path.join(top, 'export'), image, version: 1, flavor: 'casper', reader: reader(img), rootKind: 'iso' }), /cannot be a folder name/, JSON.stringify(image));
    }
    assert.deepEqual(walk(top), []);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
