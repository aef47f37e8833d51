import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { publicationCandidates } from '../../../src/model/boot-queries.ts';
import { publishNeeded, type PublishStore } from '../../../src/boot/publish.ts';
import type { Flavor } from '../../../src/db/schema.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb } from './fixtures.ts';

test('which versions get published for nfs/cifs, and publishing them from a store', { timeout: 20_000 }, async () => {
  const t = tempDb();
  try {
    const deb = await addImage(t.db, { name: 'debian', flavor: 'live-boot', transport: 'nfs', current_version: 2 }, [{ version: 1 }, { version: 2 }, { version: 3 }]);
    await addImage(t.db, { name: 'ubuntu', flavor: 'casper' }, [{ version: 1 }, { version: 2, state: 'failed' }]);
    await addImage(t.db, { name: 'fedora', flavor: 'dracut' }, [{ version: 1 }, { version: 4, transport: 'cifs' }]);
    await addImage(t.db, { name: 'plain', flavor: 'live-boot' }, [{ version: 1 }]);
    const b = await addBranch(t.db, { default_image: 'fedora@1', menu_images: ['debian@3', 'ubuntu@2'] });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:01', branch_id: b, image_id: deb, image_version: 1 });
    assert.deepEqual(await publicationCandidates(t.db), [
      { name: 'debian', version: 1 }, { name: 'debian', version: 2 }, { name: 'debian', version: 3 },
      { name: 'ubuntu', version: 1 },
      { name: 'fedora', version: 1 }, { name: 'fedora', version: 4 },
    ]);
    // A branch override to cifs can reach every image.
    await addBranch(t.db, { transport: 'cifs' });
    assert.ok((await publicationCandidates(t.db)).some((c) => c.name === 'plain'));

    const exportDir = path.join(t.dir, 'export');
    const flavors: Record<string, Flavor> = { debian: 'live-boot', ubuntu: 'casper', fedora: 'dracut', plain: 'live-boot' };
    const store: PublishStore = {
      async openReader(name, version) {
        if (name === 'fedora' && version === 4) throw new Error('corrupt chunk');
        const data = Buffer.from(`${name}@${version}`);
        return { size: data.length, read: async (o, l) => data.subarray(o, o + l), row: { flavor: null, image_flavor: flavors[name]!, version, kernel_blob: null, initrd_blob: null } };
      },
      file: (rel) => rel,
    };
    const done = await publishNeeded(t.db, store, exportDir, silentLog);
    assert.equal(done.length, 6, 'every candidate but the corrupt one');
    assert.equal(fs.readFileSync(path.join(exportDir, 'debian/3/live/filesystem.squashfs'), 'utf8'), 'debian@3');
    assert.equal(fs.readFileSync(path.join(exportDir, 'ubuntu/1/casper/filesystem.squashfs'), 'utf8'), 'ubuntu@1');
    assert.equal(fs.readFileSync(path.join(exportDir, 'fedora/1/LiveOS/squashfs.img'), 'utf8'), 'fedora@1');
    assert.ok((await publishNeeded(t.db, store, exportDir, silentLog)).every((r) => r.unchanged));
  } finally {
    await t.close();
  }
});

test('a pass stopped mid-copy ends with AbortError and leaves neither a root nor a temp file', { timeout: 20_000 }, async () => {
  const t = tempDb();
  try {
    await addImage(t.db, { name: 'debian', flavor: 'live-boot', transport: 'nfs' }, [{ version: 1 }]);
    const exportDir = path.join(t.dir, 'export');
    const stop = new AbortController();
    let reads = 0;
    const store: PublishStore = {
      async openReader(_name, version) {
        return {
          size: 12 * 1024 * 1024,
          read: async (_o, l) => { if (++reads === 2) stop.abort(); return Buffer.alloc(l); },
          row: { flavor: null, image_flavor: 'live-boot', version, kernel_blob: null, initrd_blob: null },
        };
      },
      file: (rel) => rel,
    };
    await assert.rejects(publishNeeded(t.db, store, exportDir, silentLog, stop.signal), { name: 'AbortError' });
    assert.equal(reads, 2, 'no read after the abort');
    assert.deepEqual(fs.readdirSync(path.join(exportDir, 'debian/1/live')), []);
  } finally {
    await t.close();
  }
});

test('temp files a killed earlier serve left are removed when the copy is made again; this process\'s own are not touched', { timeout: 20_000 }, async () => {
  const t = tempDb();
  try {
    await addImage(t.db, { name: 'debian', flavor: 'live-boot', transport: 'nfs', current_version: 1 }, [{ version: 1 }]);
    const exportDir = path.join(t.dir, 'export');
    const live = path.join(exportDir, 'debian/1/live');
    fs.mkdirSync(live, { recursive: true });
    // pid 2^22 + 1 is above Linux's pid_max: never a live process.
    const stale = path.join(live, `.filesystem.squashfs.partial-${(1 << 22) + 1}`);
    fs.writeFileSync(stale, Buffer.alloc(4096));
    const store: PublishStore = {
      async openReader(name, version) {
        const data = Buffer.from(`${name}@${version}`);
        return { size: data.length, read: async (o, l) => data.subarray(o, o + l), row: { flavor: null, image_flavor: 'live-boot', version, kernel_blob: null, initrd_blob: null } };
      },
      file: (rel) => rel,
    };
    await publishNeeded(t.db, store, exportDir, silentLog);
    assert.equal(fs.readFileSync(path.join(live, 'filesystem.squashfs'), 'utf8'), 'debian@1');
    assert.deepEqual(fs.readdirSync(live), ['filesystem.squashfs'], 'the dead serve\'s temp file is gone');
  } finally {
    await t.close();
  }
});
