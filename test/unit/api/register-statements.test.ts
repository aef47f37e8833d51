// Registering discovered machines reads the set, the branch and its names once: statements grow
// by one UPDATE a machine (each gets its own name), not by the ~14 reads a machine it took, and
// the numbering skips names taken in the branch and by machines of the same batch.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { getMachineView } from '../../../src/model/machine-admin.ts';
import { registerDiscovered } from '../../../src/model/machine-register.ts';
import { makeFixture, statementsDuring, type Fixture } from './helpers.ts';

let f: Fixture;
const disc = (i: number) => `02:00:00:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
before(async () => {
  f = await makeFixture({ machinesPerBranch: 2, users: false });
  const now = Date.now();
  const rows = Array.from({ length: 80 }, (_, i) => ({ mac: disc(i), branch_id: f.branchA, state: 'discovered' as const, last_seen_at: now, created_at: now, updated_at: now }));
  await f.ctx.db.insertInto('machines').values(rows).execute();
  // lab-002 is taken in branch A: the numbering must skip it.
  await f.ctx.db.updateTable('machines').set({ hostname: 'LAB-002' }).where('branch_id', '=', f.branchA).where('state', '=', 'registered').where('hostname', '=', 'a-0000').execute();
});
after(async () => { await f.close(); });

const statements = (fn: () => Promise<unknown>) => statementsDuring(f, fn);

test('statements per registration: the reads do not grow with the machines, one UPDATE each', async () => {
  const reg = (from: number, count: number, start: number) => registerDiscovered(f.ctx.db, 'user:t', [f.branchA], {
    macs: Array.from({ length: count }, (_, i) => disc(from + i)), branchId: f.branchA, hostnamePattern: 'lab-{n:03}', start, image: 'ubuntu', action: 'once',
  });
  let named: string[] = [];
  const n10 = await statements(async () => { named = (await reg(0, 10, 1)).map((m) => m.hostname!); });
  const n60 = await statements(() => reg(10, 60, 100));
  assert.ok(n60 - n10 <= 50 + 2, `10 machines: ${n10} statements, 60 machines: ${n60}`);
  assert.deepEqual(named, ['lab-001', 'lab-003', 'lab-004', 'lab-005', 'lab-006', 'lab-007', 'lab-008', 'lab-009', 'lab-010', 'lab-011']);
  const m = await getMachineView(f.ctx.db, disc(3));
  assert.equal(m?.state, 'registered');
  assert.equal(m?.hostname, 'lab-005');
  assert.equal(m?.image, 'ubuntu');
  assert.equal(m?.action, 'once');
  const a = await f.ctx.db.selectFrom('audit_log').selectAll().where('entity_id', '=', disc(3)).executeTakeFirstOrThrow();
  assert.equal(a.action, 'register');
  assert.deepEqual(JSON.parse(a.after!), m);
});

test('a batch naming a MAC twice, or a registered one, changes nothing', async () => {
  await assert.rejects(registerDiscovered(f.ctx.db, 'user:t', null, { macs: [disc(75), disc(75)], branchId: f.branchA, hostnamePattern: 'x-{n}' }), /already registered/);
  await assert.rejects(registerDiscovered(f.ctx.db, 'user:t', null, { macs: [disc(76), disc(0)], branchId: f.branchA, hostnamePattern: 'x-{n}' }), /already registered/);
  assert.equal((await getMachineView(f.ctx.db, disc(75)))?.state, 'discovered');
  assert.equal((await getMachineView(f.ctx.db, disc(76)))?.state, 'discovered');
});
