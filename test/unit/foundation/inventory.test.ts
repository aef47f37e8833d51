import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { parseInventory } from '../../../src/model/inventory/parse.ts';
import { applyInventory } from '../../../src/model/inventory/apply.ts';
import { diffIsEmpty, formatDiff } from '../../../src/model/inventory/diff.ts';
import { loadInventory } from '../../../src/model/inventory/load.ts';
import { formatInventory } from '../../../src/model/inventory/export.ts';
import { recordSighting } from '../../../src/model/machines.ts';
import { ROOT, tempDir } from '../../helpers/cli.ts';

const fixture = fs.readFileSync(path.join(ROOT, 'test/fixtures/inventory.yaml'), 'utf8');

async function withDb(fn: (db: ReturnType<typeof openDatabase>['db']) => Promise<void>) {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try { await fn(h.db); } finally { await h.close(); }
}

test('apply creates everything, is idempotent, and export round-trips', () => withDb(async (db) => {
  const inv = parseInventory(fixture, 'inventory.yaml');
  const first = await applyInventory(db, inv);
  assert.deepEqual(formatDiff(first.diff), [
    '+ branch north', '+ branch south', '+ image ubuntu-lab', '+ image debian-live',
    '+ machine 52:54:00:12:34:56', '+ machine 52:54:00:12:34:57',
  ]);
  assert.ok(diffIsEmpty((await applyInventory(db, inv)).diff), 'second apply changes nothing');
  const exported = formatInventory(await loadInventory(db));
  assert.ok(diffIsEmpty((await applyInventory(db, parseInventory(exported, 'export'))).diff), 'apply(export) changes nothing');
  const m = await db.selectFrom('machines').selectAll().where('mac', '=', '52:54:00:12:34:57').executeTakeFirstOrThrow();
  assert.equal(m.fixed_ip, '10.20.0.20');
  assert.equal(m.image_version, 3);
  assert.equal(m.once_pending, 1);
  const subnet = await db.selectFrom('subnets').selectAll().where('cidr', '=', '10.20.0.0/24').executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(subnet.ranges), ['10.20.0.100-10.20.0.200']);
  const audits = await db.selectFrom('audit_log').selectAll().execute();
  assert.equal(audits.length, 6, 'one audit row per change');
}));

test('--dry-run shows the diff and writes nothing; updates list the fields', () => withDb(async (db) => {
  await applyInventory(db, parseInventory(fixture));
  const changed = parseInventory(fixture.replace('hostname: lab-n-01', 'hostname: lab-n-99'));
  const dry = await applyInventory(db, changed, { dryRun: true });
  assert.deepEqual(formatDiff(dry.diff), ['~ machine 52:54:00:12:34:56: hostname: lab-n-01 → lab-n-99']);
  const m = await db.selectFrom('machines').select('hostname').where('mac', '=', '52:54:00:12:34:56').executeTakeFirstOrThrow();
  assert.equal(m.hostname, 'lab-n-01');
}));

test('--prune removes what the file no longer names, and leaves discovered machines alone', () => withDb(async (db) => {
  await applyInventory(db, parseInventory(fixture));
  await recordSighting(db, { mac: 'aa:bb:cc:dd:ee:ff' });
  const smaller = parseInventory(`
branches:
  - name: north
    subnets: [{ cidr: 10.20.0.0/24, dhcp: off }]
images:
  - name: ubuntu-lab
machines:
  - { mac: 52:54:00:12:34:56, branch: north, image: ubuntu-lab }
`);
  const kept = await applyInventory(db, smaller);
  assert.ok(!formatDiff(kept.diff).some((l) => l.startsWith('-')), 'without --prune nothing is removed');
  const pruned = await applyInventory(db, smaller, { prune: true });
  assert.deepEqual(formatDiff(pruned.diff).filter((l) => l.startsWith('-')), ['- branch south', '- image debian-live', '- machine 52:54:00:12:34:57']);
  assert.ok(await db.selectFrom('machines').select('id').where('mac', '=', 'aa:bb:cc:dd:ee:ff').executeTakeFirst());
}));

test('mistakes name the file, line and path', () => {
  const cases: [string, RegExp][] = [
    ['branches:\n  - name: north\n    subnets:\n      - cidr: 10.20.0.0/33\n', /^inv\.yaml:4: branches\[0\]\.subnets\[0\]\.cidr: "10\.20\.0\.0\/33" is not a network/],
    ['branches:\n  - name: north\n    subnets:\n      - cidr: 10.20.0.0/24\n        range: 10.30.0.1-10.30.0.9\n', /^inv\.yaml:5: branches\[0\]\.subnets\[0\]\.range: 10\.30\.0\.1-10\.30\.0\.9 is not inside 10\.20\.0\.0\/24/],
    ['machines:\n  - mac: zz:zz\n    branch: north\n', /^inv\.yaml:2: machines\[0\]\.mac: "zz:zz" is not a MAC address/],
    ['machines:\n  - mac: 52:54:00:00:00:01\n    branch: north\n    hostname: "lab 1"\n', /^inv\.yaml:4: machines\[0\]\.hostname: "lab 1" is not a hostname/],
    ['machines:\n  - mac: 52:54:00:00:00:01\n    branch: north\n    action: reboot\n', /^inv\.yaml:4: machines\[0\]\.action: must be one of image, local, menu, once/],
    ['branches:\n  - name: north\n    colour: red\n', /^inv\.yaml:2: branches\[0\]: unknown key "colour"/],
    ['branches:\n  - name: a\n  - name: a\n', /branch "a" is named twice/],
    ['branches:\n  - name: a\n    subnets: [{cidr: 10.1.0.0/24, dhcp: authoritative}]\n', /authoritative DHCP needs a range/],
    ['branches:\n  - name: a\n    subnets:\n      - cidr: 10.1.0.0/16\n  - name: b\n    subnets:\n      - cidr: 10.1.8.0/24\n',
      /^inv\.yaml:7: branches\[1\]\.subnets\[0\]\.cidr: 10\.1\.8\.0\/24 overlaps 10\.1\.0\.0\/16 of branch a$/],
    ['branches:\n  - name: a\n    subnets:\n      - cidr: 10.1.0.0/24\n      - cidr: 10.1.0.0/24\n', /^inv\.yaml:5: .*10\.1\.0\.0\/24 is already a subnet of this branch$/],
    ['branches:\n  - name: a\n    subnets: [{cidr: 10.1.0.0/24}]\nmachines:\n  - mac: 52:54:00:00:00:01\n    branch: a\n    ip: 10.2.0.5\n',
      /^inv\.yaml:7: machines\[0\]\.ip: 10\.2\.0\.5 is not inside a subnet of branch a \(its subnets: 10\.1\.0\.0\/24\)$/],
    ['branches:\n  - name: a\n    subnets: [{cidr: 10.1.0.0/24}]\nmachines:\n  - mac: 52:54:00:00:00:01\n    branch: a\n    ip: 10.1.0.255\n',
      /machines\[0\]\.ip: 10\.1\.0\.255 is the broadcast address of 10\.1\.0\.0\/24$/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseInventory(text, 'inv.yaml'), { message: re });
});

test('apply checks the layout that results, with branches and machines the file leaves alone', () => withDb(async (db) => {
  await applyInventory(db, parseInventory('branches:\n  - { name: a, subnets: [{cidr: 10.1.0.0/16}] }\nmachines:\n  - { mac: 52:54:00:00:00:01, branch: a, ip: 10.1.9.9 }\n'));
  const before = await loadInventory(db);
  await assert.rejects(applyInventory(db, parseInventory('branches:\n  - { name: b, subnets: [{cidr: 10.1.2.0/24}] }\n')),
    { message: 'branch b: subnet 10.1.2.0/24 overlaps 10.1.0.0/16 of branch a' });
  // The machine is not in this file, but its branch's subnets are.
  await assert.rejects(applyInventory(db, parseInventory('branches:\n  - { name: a, subnets: [{cidr: 10.1.0.0/24}] }\n')),
    { message: 'machine 52:54:00:00:00:01: 10.1.9.9 is not inside a subnet of branch a (its subnets: 10.1.0.0/24)' });
  assert.deepEqual(await loadInventory(db), before, 'a refused apply writes nothing');
  // With --prune the old branch and its machine go, so the overlap is gone too.
  const pruned = await applyInventory(db, parseInventory('branches:\n  - { name: b, subnets: [{cidr: 10.1.2.0/24}] }\n'), { prune: true });
  assert.equal(pruned.applied, true);
}));

test('a subnet that moves to another branch keeps its row and its leases, whichever branch the file lists first', () => withDb(async (db) => {
  const lease = async () => {
    const s = await db.selectFrom('subnets').select('id').where('cidr', '=', '10.5.0.0/24').executeTakeFirstOrThrow();
    await db.insertInto('leases').values({ subnet_id: s.id, ip: '10.5.0.50', mac: '52:54:00:00:00:99', state: 'bound', expires_at: Date.now() + 3600_000, updated_at: Date.now() }).execute();
    return s.id;
  };
  const x = '{cidr: 10.5.0.0/24, dhcp: authoritative, range: 10.5.0.10-10.5.0.90}';
  await applyInventory(db, parseInventory(`branches:\n  - { name: a, subnets: [${x}] }\n  - { name: b }\n`));
  const id = await lease();
  // a (which gives it up) comes first in the file, then b (which takes it).
  await applyInventory(db, parseInventory(`branches:\n  - { name: a }\n  - { name: b, subnets: [${x}] }\n`));
  const after = await db.selectFrom('subnets').innerJoin('branches', 'branches.id', 'subnets.branch_id').select(['subnets.id', 'branches.name']).where('cidr', '=', '10.5.0.0/24').executeTakeFirstOrThrow();
  assert.deepEqual([after.id, after.name], [id, 'b']);
  assert.equal((await db.selectFrom('leases').selectAll().where('subnet_id', '=', id).execute()).length, 1, 'the lease moved with its subnet');
  // And from a branch pruned in the same apply.
  await applyInventory(db, parseInventory(`branches:\n  - { name: c, subnets: [${x}] }\n`), { prune: true });
  const moved = await db.selectFrom('subnets').innerJoin('branches', 'branches.id', 'subnets.branch_id').select(['subnets.id', 'branches.name']).where('cidr', '=', '10.5.0.0/24').executeTakeFirstOrThrow();
  assert.deepEqual([moved.id, moved.name], [id, 'c']);
  assert.equal((await db.selectFrom('leases').selectAll().where('subnet_id', '=', id).execute()).length, 1);
  assert.deepEqual((await db.selectFrom('branches').select('name').execute()).map((r) => r.name), ['c']);
}));

test('references to unknown branches and images are refused before anything is written', () => withDb(async (db) => {
  await assert.rejects(applyInventory(db, parseInventory('machines:\n  - { mac: 52:54:00:00:00:01, branch: nowhere }\n')), /machine 52:54:00:00:00:01: branch "nowhere" does not exist/);
  await assert.rejects(applyInventory(db, parseInventory('branches:\n  - { name: a, defaultImage: ghost }\n')), /defaultImage "ghost" is not a known image/);
  assert.equal((await db.selectFrom('branches').selectAll().execute()).length, 0);
}));
