// A layered casper ISO (Ubuntu 23.10+) is stored whole (root_kind iso): casper fetches it over
// http (url=…iso) or scans its casper/ folder on a share; nbd and http-lazy cannot boot it. The
// rule is transportProblem's, with the version's root kind: in the plan and in `apply`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTransport, rootArgs, transportProblem, type RootEndpoints } from '../../../src/boot/cmdline.ts';
import { readyVersionFacts, versionFor } from '../../../src/boot/version-facts.ts';
import { parseInventory } from '../../../src/model/inventory/parse.ts';
import { applyInventory } from '../../../src/model/inventory/apply.ts';
import { UserError } from '../../../src/util/errors.ts';
import type { Flavor, Transport } from '../../../src/db/schema.ts';
import { addImage, tempDb } from './fixtures.ts';

const EP: RootEndpoints = { httpBase: 'http://10.0.0.1:8080', nbd: { host: '10.0.0.1', port: 10809 }, nfs: { host: '10.0.0.1', path: '/srv/bb' }, cifs: { host: '10.0.0.1', share: 'branchboot' } };
const iso = (flavor: Flavor, transport: Transport) => rootArgs({ flavor, transport, image: 'noble', version: 2, rootKind: 'iso', rootFile: 'ubuntu-24.04.1-desktop-amd64.iso' }, EP);

test('a whole casper ISO: http is url=…iso (the default), nfs/cifs the published folder, nbd and http-lazy refused', () => {
  assert.equal(defaultTransport('casper', 'iso', 'ubuntu-24.04.1-desktop-amd64.iso'), 'http');
  const http = iso('casper', 'http');
  assert.deepEqual(http.ok && http.args, ['boot=casper', 'url=http://10.0.0.1:8080/images/noble/2/ubuntu-24.04.1-desktop-amd64.iso', 'ignore_uuid']);
  const nfs = iso('casper', 'nfs');
  assert.deepEqual(nfs.ok && nfs.args, ['boot=casper', 'netboot=nfs', 'nfsroot=10.0.0.1:/srv/bb/noble/2', 'ignore_uuid']);
  const cifs = iso('casper', 'cifs');
  assert.deepEqual(cifs.ok && cifs.args, ['boot=casper', 'netboot=cifs', 'nfsroot=//10.0.0.1/branchboot/noble/2', 'ignore_uuid']);
  for (const t of ['nbd', 'http-lazy'] as const) {
    const r = iso('casper', t);
    assert.equal(!r.ok && r.reason, `a whole live ISO (casper's stacked layers) cannot be a root over ${t}: use http (casper url=…iso), nfs or cifs`);
  }
  // Other flavors forced onto such a version: an ISO 9660 is no root file system for them either.
  assert.equal(iso('live-boot', 'nbd').ok, false);
  assert.equal(iso('dracut', 'nbd').ok, false);
  assert.equal(iso('custom', 'nbd').ok, true, 'custom: the admin owns the whole line');
  // Without a root kind (an image not imported yet) the flavor rule alone, as before.
  assert.equal(transportProblem('casper', 'nbd'), undefined);
  assert.equal(transportProblem('casper', 'nbd', 'iso-squashfs'), undefined);
});

test('root kind of the default version: the pinned current one when ready, else the newest ready', async () => {
  const t = tempDb();
  try {
    await addImage(t.db, { name: 'noble', flavor: 'casper' }, [{ version: 1, root_kind: 'iso-squashfs' }, { version: 2, root_kind: 'iso', root_file: 'u.iso' }, { version: 3, state: 'failed', root_kind: 'squashfs' }]);
    await addImage(t.db, { name: 'jammy', flavor: 'casper', current_version: 1 }, [{ version: 1, root_kind: 'iso-squashfs' }, { version: 2, root_kind: 'iso', root_file: 'u.iso' }]);
    const all = await readyVersionFacts(t.db);
    assert.equal(versionFor(all, 'noble', null)?.rootKind, 'iso');
    assert.equal(versionFor(all, 'jammy', null)?.rootKind, 'iso-squashfs');
    assert.equal(versionFor(all, 'jammy', 2)?.rootKind, 'iso', 'a pin names its own version');
    assert.equal(versionFor(all, 'noble', 3), undefined, 'a failed version is not bootable');
    assert.equal(versionFor(all, 'none', null), undefined);
    assert.deepEqual([...all.keys()].sort(), ['jammy', 'noble']);
    assert.equal((await readyVersionFacts(t.db, 'jammy')).size, 1);
  } finally {
    await t.close();
  }
});

test('inventory apply refuses a layered casper ISO over nbd in one line, and applies it over http or nfs', async () => {
  const inv = (transport: string) => parseInventory(JSON.stringify({
    branches: [{ name: 'lab', subnets: [{ cidr: '10.1.0.0/24' }], defaultImage: 'noble', transport }],
    images: [{ name: 'noble', flavor: 'casper' }],
  }));
  const t = tempDb();
  try {
    await addImage(t.db, { name: 'noble', flavor: 'casper' }, [{ version: 1, root_kind: 'iso', root_file: 'ubuntu-24.04.1-desktop-amd64.iso' }]);
    await assert.rejects(applyInventory(t.db, inv('nbd')), (err: unknown) => err instanceof UserError && !err.message.includes('\n')
      && err.message === 'branch lab: image "noble" (casper) over nbd: a whole live ISO (casper\'s stacked layers) cannot be a root over nbd: use http (casper url=…iso), nfs or cifs');
    await applyInventory(t.db, inv('nfs'));
    await applyInventory(t.db, inv('http'));
  } finally {
    await t.close();
  }
});

test('a pinned version is checked for itself: noble@2 (a whole ISO) over nbd is refused though the current version could go', async () => {
  const inv = (ref: string) => parseInventory(JSON.stringify({
    branches: [{ name: 'lab', subnets: [{ cidr: '10.1.0.0/24' }], defaultImage: ref, transport: 'nbd' }],
    images: [{ name: 'noble', flavor: 'casper' }],
  }));
  const t = tempDb();
  try {
    await addImage(t.db, { name: 'noble', flavor: 'casper', current_version: 1 }, [{ version: 1, root_kind: 'iso-squashfs' }, { version: 2, root_kind: 'iso', root_file: 'u.iso' }]);
    await applyInventory(t.db, inv('noble'));
    await assert.rejects(applyInventory(t.db, inv('noble@2')), /^UserError: branch lab: image "noble" \(casper\) over nbd: a whole live ISO/);
  } finally {
    await t.close();
  }
});
