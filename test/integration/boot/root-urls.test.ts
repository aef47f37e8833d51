// The root URL a plan puts on a kernel line must be one the image route serves. Real imports
// (squashfs, ext4, live ISOs in the three layouts), the real store routes on a port, the real
// planner: for every flavor × http transport, either the root URL answers 200 or the plan is
// an error saying why — never a line whose fetch= / root=live: is a 404 at boot time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { importImage } from '../../../src/store/importer.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import type { Flavor, Transport } from '../../../src/db/schema.ts';
import { have, makeExt4, makeHarness, makeSquashfs, type StoreHarness } from '../store/harness.ts';
import { addBranch, addMachine } from '../../unit/boot/fixtures.ts';

const tools = ['mksquashfs', 'mkfs.ext4', 'xorriso'];
const missing = tools.filter((t) => !have(t));

let h: StoreHarness;
let base: string;

/** An ISO holding `files` (path → bytes or a file to copy). */
function makeIso(file: string, dir: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
    if (typeof content === 'string') fs.copyFileSync(content, path.join(dir, p));
    else fs.writeFileSync(path.join(dir, p), content);
  }
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-o', file, dir], { stdio: 'pipe' });
}

// image name, file, flavor it is imported as
const IMAGES: [string, string, Flavor][] = [];

before(async () => {
  if (missing.length) return;
  h = makeHarness('rooturls');
  const tree = path.join(h.dir, 'tree');
  fs.mkdirSync(path.join(tree, 'sbin'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'sbin', 'init'), '#!/bin/sh\necho hello\n');
  const sq = path.join(h.dir, 'root.squashfs');
  makeSquashfs(sq, tree);
  const ext4 = path.join(h.dir, 'root.ext4');
  makeExt4(ext4, tree, 4);
  const kernel = path.join(h.dir, 'vmlinuz');
  const initrd = path.join(h.dir, 'initrd.img');
  fs.writeFileSync(kernel, Buffer.alloc(4096, 1));
  fs.writeFileSync(initrd, Buffer.alloc(4096, 2));
  const side = { vmlinuz: Buffer.alloc(4096, 1), initrd: Buffer.alloc(4096, 2) };
  // Fedora's layout: LiveOS/squashfs.img + images/pxeboot; Ubuntu 24.04's: casper/minimal.squashfs.
  const fedora = path.join(h.dir, 'fedora.iso');
  makeIso(fedora, path.join(h.dir, 'iso-f'), { 'LiveOS/squashfs.img': sq, 'images/pxeboot/vmlinuz': side.vmlinuz, 'images/pxeboot/initrd.img': side.initrd });
  const ubuntu = path.join(h.dir, 'ubuntu.iso');
  makeIso(ubuntu, path.join(h.dir, 'iso-u'), { 'casper/minimal.squashfs': sq, 'casper/vmlinuz': side.vmlinuz, 'casper/initrd': side.initrd });
  const debian = path.join(h.dir, 'debian.iso');
  makeIso(debian, path.join(h.dir, 'iso-d'), { 'live/filesystem.squashfs': sq, 'live/vmlinuz': side.vmlinuz, 'live/initrd.img': side.initrd });
  const env = { config: h.config, db: h.handle.db, log: h.log };
  const imports: [string, string, Flavor, boolean][] = [
    ['sq-dracut', sq, 'dracut', true], ['sq-live', sq, 'live-boot', true], ['sq-casper', sq, 'casper', true],
    ['ext-dracut', ext4, 'dracut', true], ['ext-live', ext4, 'live-boot', true],
    ['fedora-dracut', fedora, 'dracut', false], ['fedora-live', fedora, 'live-boot', false],
    ['ubuntu-live', ubuntu, 'live-boot', false], ['ubuntu-casper', ubuntu, 'casper', false], ['debian-live', debian, 'live-boot', false],
  ];
  for (const [name, file, flavor, sideFiles] of imports) {
    await importImage(env, { file, name, flavor, ...(sideFiles && { kernel, initrd }) });
    IMAGES.push([name, file, flavor]);
  }
  base = await h.serve();
});

after(async () => { await h?.close(); });

test('every flavor × http transport of real imports: the root URL is served, or the plan says why not', { timeout: 120_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const db = h.handle.db;
  const branch = await addBranch(db, { name: 'urls', server_http: `${base}/` });
  const planner = createPlanner({ config: h.config, db, log: h.log });
  const results: string[] = [];
  let n = 0;
  for (const [image] of IMAGES) {
    for (const transport of ['http', 'http-lazy'] as Transport[]) {
      const mac = `52:54:00:00:00:${(++n).toString(16).padStart(2, '0')}`;
      const row = await db.selectFrom('images').select('id').where('name', '=', image).executeTakeFirstOrThrow();
      await addMachine(db, { mac, branch_id: branch, image_id: row.id, action: 'image', transport });
      const plan = await planner.plan({ mac, preview: true });
      if (plan.kind === 'error') {
        assert.match(plan.reason, /^image \S+ v1: .*: use /, `${image} × ${transport}: a one-line reason naming what to use instead`);
        assert.match(plan.script, /^#!ipxe\n/);
        results.push(`${image} × ${transport}: refused`);
        continue;
      }
      assert.equal(plan.kind, 'image', `${image} × ${transport}`);
      if (plan.kind !== 'image') continue;
      for (const url of [plan.root.location, plan.kernelUrl, plan.initrdUrl]) {
        const r = await fetch(url, { method: 'HEAD' });
        assert.equal(r.status, 200, `${image} × ${transport}: ${url} (cmdline ${plan.cmdline})`);
      }
      assert.ok(plan.cmdline.includes(plan.root.location), plan.cmdline);
      results.push(`${image} × ${transport}: ${plan.root.location.slice(base.length)}`);
    }
  }
  const get = (s: string) => results.find((r) => r.startsWith(`${s}:`));
  // The pairs that can boot do, under the name each was imported with.
  assert.equal(get('sq-dracut × http'), 'sq-dracut × http: /images/sq-dracut/1/filesystem.squashfs');
  assert.equal(get('ext-dracut × http'), 'ext-dracut × http: /images/ext-dracut/1/root.img');
  assert.equal(get('ubuntu-live × http'), 'ubuntu-live × http: /images/ubuntu-live/1/minimal.squashfs');
  assert.equal(get('debian-live × http-lazy'), 'debian-live × http-lazy: /images/debian-live/1/filesystem.squashfs');
  assert.equal(get('fedora-dracut × http'), 'fedora-dracut × http: /images/fedora-dracut/1/squashfs.img');
  // live-boot cannot fetch an ext4 image, nor a squashfs whose name does not end in .squashfs.
  assert.equal(get('ext-live × http'), 'ext-live × http: refused');
  assert.equal(get('fedora-live × http'), 'fedora-live × http: refused');
  assert.equal(get('sq-casper × http'), 'sq-casper × http: refused');
});
