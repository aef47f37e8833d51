// What a machine is told in the inventory's awkward states: no image anywhere, a pinned version
// an admin removed, an image whose every version is gone, a machine DHCP only discovered. Each
// is a plan iPXE can run — an image, the local disk, or an error that says why — never a throw.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPlanner } from '../../../src/boot/planner.ts';
import type { BootPlan } from '../../../src/boot/types.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig, type TestDb } from './fixtures.ts';

let t: TestDb;
const planner = () => createPlanner({ config: testConfig(), db: t.db, log: silentLog });
const plan = (mac: string, branchId?: number): Promise<BootPlan> => planner().plan({ mac, branchId, serverAddress: '10.1.0.1', preview: true });
const reason = (p: BootPlan) => (p.kind === 'error' ? p.reason : `(${p.kind})`);

/** Every script iPXE runs starts with the magic line and has no line iPXE would split (exec.c). */
function wellFormed(p: BootPlan): void {
  assert.match(p.script, /^#!ipxe\n/);
  for (const l of p.script.split('\n')) {
    if (l.startsWith('#')) continue;
    const words = l.split(/\s+/);
    const cut = words.findIndex((w) => w === ';' || w.startsWith('#') || ((w === '||' || w === '&&') && !/^(goto|chain|exit)/.test(words[words.indexOf(w) + 1] ?? '')));
    assert.equal(cut, -1, `line "${l}" would be cut by iPXE`);
  }
}

let lab: number;
let bare: number;
let deb: number;
let gone: number;

before(async () => {
  t = tempDb();
  deb = await addImage(t.db, { name: 'deb', flavor: 'live-boot' }, [{ version: 1 }, { version: 2, state: 'removed' }, { version: 3 }]);
  gone = await addImage(t.db, { name: 'gone', flavor: 'live-boot' }, [{ version: 1, state: 'removed' }]);
  lab = await addBranch(t.db, { name: 'lab', default_image: 'deb', cidr: '10.1.0.0/24' });
  bare = await addBranch(t.db, { name: 'bare' });
  await addMachine(t.db, { mac: 'aa:bb:cc:10:00:01', branch_id: bare });
  await addMachine(t.db, { mac: 'aa:bb:cc:10:00:02', branch_id: lab, image_id: deb, image_version: 2 });
  await addMachine(t.db, { mac: 'aa:bb:cc:10:00:03', branch_id: lab, image_id: gone });
  await addMachine(t.db, { mac: 'aa:bb:cc:10:00:04', branch_id: lab, image_id: deb });
});
after(() => t.close());

test('no image assigned and none by the branch: an error naming both', async () => {
  const p = await plan('aa:bb:cc:10:00:01');
  assert.equal(p.kind, 'error');
  assert.match(reason(p), /no image assigned to aa:bb:cc:10:00:01 and branch bare has no default image/);
  wellFormed(p);
  assert.match(p.script, /Press r to retry now, or wait 30 s to boot the local disk/);
});

test('pinned to a version an admin removed: an error naming it, not another version', async () => {
  const p = await plan('aa:bb:cc:10:00:02');
  assert.match(reason(p), /image deb version 2 is removed, not ready/);
  wellFormed(p);
});

test('an image whose every version is removed: no ready version', async () => {
  const p = await plan('aa:bb:cc:10:00:03');
  assert.match(reason(p), /image gone has no ready version/);
  wellFormed(p);
});

test('unpinned: the newest ready version, skipping removed ones', async () => {
  const p = await plan('aa:bb:cc:10:00:04');
  assert.equal(p.kind, 'image', reason(p));
  if (p.kind === 'image') assert.equal(p.image.version, 3);
  wellFormed(p);
});

test('a machine nobody registered: the branch of its subnet decides; once-branches boot it from disk', async () => {
  // Unknown MAC, seen by DHCP in the lab branch: the branch default image.
  const p = await planner().plan({ mac: 'aa:bb:cc:10:00:99', clientIp: '10.1.0.50', serverAddress: '10.1.0.1', preview: true });
  assert.equal(p.kind, 'image', reason(p));
  wellFormed(p);
  // Discovered (DHCP wrote a row without an admin), in a branch whose default is "once".
  const once = await addBranch(t.db, { name: 'oncelab', default_image: 'deb', default_action: 'once' });
  await addMachine(t.db, { mac: 'aa:bb:cc:10:00:98', branch_id: once });
  await t.db.updateTable('machines').set({ state: 'discovered' }).where('mac', '=', 'aa:bb:cc:10:00:98').execute();
  const d = await plan('aa:bb:cc:10:00:98');
  assert.equal(d.kind, 'local');
  wellFormed(d);
  // Outside every branch: an error, still a script.
  const none = await planner().plan({ mac: 'aa:bb:cc:10:00:97', clientIp: '192.0.2.7', preview: true });
  assert.match(reason(none), /unknown machine aa:bb:cc:10:00:97 on an address that belongs to no branch/);
  wellFormed(none);
});
