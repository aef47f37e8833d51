// A bulk assignment's SQL does not grow with the machines it assigns: POST /v1/machines/assign
// for 60 machines prepares as many statements as for 6 (it used to read each machine, its image,
// version and pair again: ~10 statements a machine). And the batch writes what one PATCH per
// machine wrote: the same rows, audit rows whose "after" is the stored machine, nothing for a re-run.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { getMachineView } from '../../../src/model/machine-admin.ts';
import { assignMachines } from '../../../src/model/machine-assign.ts';
import { makeFixture, macFor, statementsDuring, type Fixture } from './helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 60, users: false }); });
after(async () => { await f.close(); });

const statements = (fn: () => Promise<unknown>) => statementsDuring(f, fn);

const assign = (macs: string[], image: string) => f.req('POST', '/api/v1/machines/assign', { token: f.tokens.admin, body: { macs, image, version: null } });

test('statements per bulk assignment do not grow with the number of machines', async () => {
  const few = Array.from({ length: 6 }, (_, i) => macFor(0, i));
  const many = Array.from({ length: 60 }, (_, i) => macFor(1, i));
  // Warm: the token's last-use stamp is written once a minute, not per request.
  assert.equal((await assign(few, 'debian')).statusCode, 200);
  const nFew = await statements(async () => assert.equal((await assign(few, 'ubuntu')).json<{ changed: number }>().changed, 6));
  const nMany = await statements(async () => assert.equal((await assign(many, 'ubuntu')).json<{ changed: number }>().changed, 60));
  assert.equal(nMany, nFew, `60 machines prepared ${nMany} statements, 6 machines ${nFew}`);
  assert.ok(nMany < 20, `${nMany} statements`);
});

test('a filter assignment writes what one PATCH per machine would, and a re-run nothing', async () => {
  const db = f.ctx.db;
  const macs = Array.from({ length: 60 }, (_, i) => macFor(0, i));
  // A mix: some pinned to debian@2, some with their own action, so rows start out different.
  await assignMachines(db, 'test', null, { macs: macs.slice(0, 20) }, { image: 'debian', version: 2 });
  await assignMachines(db, 'test', null, { macs: macs.slice(10, 30) }, { action: 'local' });
  const auditBefore = Number((await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const r = await assignMachines(db, 'user:t', [f.branchA], { filter: { branchId: f.branchA } }, { image: 'ubuntu', action: 'once' });
  assert.equal(r.macs.length, 60);
  assert.equal(r.changed, 60);
  const rows = await db.selectFrom('audit_log').selectAll().where('id', '>', 0).orderBy('id', 'desc').limit(60).execute();
  assert.equal(rows.length, 60);
  for (const row of rows) {
    const now = await getMachineView(db, row.entity_id!);
    assert.deepEqual(JSON.parse(row.after!), now, `audit after = stored view for ${row.entity_id}`);
    assert.equal(now!.image, 'ubuntu');
    assert.equal(now!.version, null, 'moved to another image without a version: follows its current one');
    assert.equal(now!.action, 'once');
  }
  const pending = await db.selectFrom('machines').select('once_pending').where('branch_id', '=', f.branchA).execute();
  assert.ok(pending.every((p) => p.once_pending === 1));
  const again = await assignMachines(db, 'user:t', [f.branchA], { filter: { branchId: f.branchA } }, { image: 'ubuntu', action: 'once' });
  assert.equal(again.changed, 0);
  const auditAfter = Number((await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  assert.equal(auditAfter, auditBefore + 60);
});

test('one MAC outside the caller\'s branches or a missing version changes nothing', async () => {
  const db = f.ctx.db;
  const before = await getMachineView(db, macFor(0, 1));
  await assert.rejects(assignMachines(db, 'user:t', [f.branchA], { macs: [macFor(0, 1), macFor(1, 1)] }, { image: 'debian' }), /may not manage/);
  await assert.rejects(assignMachines(db, 'user:t', null, { macs: [macFor(0, 1), macFor(1, 1)] }, { image: 'debian', version: 9 }), /has no version 9/);
  await assert.rejects(assignMachines(db, 'user:t', null, { macs: [macFor(0, 1), '02:00:00:0f:0f:0f'] }, { image: 'debian' }), /does not exist/);
  assert.deepEqual(await getMachineView(db, macFor(0, 1)), before);
});

test('a bulk pin is checked against the pinned version: noble@2 (a whole ISO) over nbd is refused, noble (current 1) is not', async () => {
  const db = f.ctx.db;
  const now = Date.now();
  const { id } = await db.insertInto('images').values({ name: 'noble', flavor: 'casper', current_version: 1, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  for (const [version, root_kind] of [[1, 'iso-squashfs'], [2, 'iso']] as const) {
    await db.insertInto('image_versions').values({ image_id: id, version, state: 'ready', flavor: 'casper', root_kind, root_file: 'u.iso', created_at: now, updated_at: now }).execute();
  }
  await db.updateTable('branches').set({ transport: 'nbd' }).where('id', '=', f.branchB).execute();
  const macs = [macFor(1, 40), macFor(1, 41)];
  await assert.rejects(assignMachines(db, 'user:t', null, { macs }, { image: 'noble', version: 2 }), /machine 02:00:00:01:00:28: image "noble" \(casper\) over nbd: a whole live ISO/);
  const r = await assignMachines(db, 'user:t', null, { macs }, { image: 'noble', version: null });
  assert.equal(r.changed, 2);
  await assert.rejects(assignMachines(db, 'user:t', null, { macs }, { version: 2 }), /over nbd: a whole live ISO/);
  await db.updateTable('branches').set({ transport: null }).where('id', '=', f.branchB).execute();
});
