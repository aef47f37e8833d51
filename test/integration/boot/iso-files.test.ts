// Publication of a layered casper ISO reads the casper/ folder out of the stored ISO itself
// (src/boot/iso-files.ts: ISO 9660 records + Rock Ridge names). ISOs made by the real xorriso:
// names past the 255-byte System Use room (Rock Ridge continues them), empty files, nested
// folders, byte-exact extents; an image that is no ISO, or is cut short, is a plain error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { isoFolderFiles } from '../../../src/boot/iso-files.ts';
import type { ImageReader } from '../../../src/store/types.ts';

const haveXorriso = spawnSync('sh', ['-c', 'command -v xorriso']).status === 0;

function reader(buf: Buffer): ImageReader {
  return { size: buf.length, read: async (o, l) => Buffer.from(buf.subarray(o, o + l)) };
}

test('casper/ of an xorriso ISO: every file by its Rock Ridge name, with extents holding its bytes', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isofiles-'));
  try {
    const tree = path.join(dir, 'tree');
    const files: Record<string, Buffer> = {
      'minimal.standard.live.squashfs': Buffer.alloc(70_001, 4),
      [`${'minimal.'.repeat(28)}squashfs`]: Buffer.alloc(5000, 3), // 232 bytes: more than one NM entry
      'install-sources.yaml': Buffer.from('- default: true\n'),
      empty: Buffer.alloc(0),
      'Mixed-Case.TXT': Buffer.from('case kept'),
    };
    fs.mkdirSync(path.join(tree, 'casper', 'sub'), { recursive: true });
    fs.mkdirSync(path.join(tree, 'CASPER2'));
    for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(tree, 'casper', n), b);
    fs.writeFileSync(path.join(tree, 'casper', 'sub', 'nested'), 'not in casper/ itself');
    fs.writeFileSync(path.join(tree, 'CASPER2', 'other'), 'x');
    const iso = path.join(dir, 'x.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-joliet-long', '-o', iso, tree], { stdio: 'pipe' });
    const buf = fs.readFileSync(iso);
    const got = await isoFolderFiles(reader(buf), 'casper');
    assert.deepEqual(got.map((f) => f.name).sort(), Object.keys(files).sort());
    for (const f of got) {
      const bytes = Buffer.concat(f.extents.map((e) => buf.subarray(e.start, e.start + e.length)));
      assert.equal(bytes.equals(files[f.name]!), true, f.name);
      assert.equal(f.size, files[f.name]!.length);
    }
    assert.deepEqual((await isoFolderFiles(reader(buf), 'casper/sub')).map((f) => f.name), ['nested']);
    await assert.rejects(isoFolderFiles(reader(buf), 'live'), /the ISO has no live\/ folder/);
    await assert.rejects(isoFolderFiles(reader(Buffer.alloc(64 * 1024)), 'casper'), /not an ISO 9660 image/);
    // Cut inside the layer's data: the listing says so instead of handing out extents past the end.
    const layer = got.find((f) => f.name === 'minimal.standard.live.squashfs')!;
    await assert.rejects(isoFolderFiles(reader(buf.subarray(0, layer.extents[0]!.start + 100)), 'casper'), /lies past the image's end/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
