// Keyset pages of the machine list: every sort, both directions, NULL keys (unnamed machines,
// no address), and filters give each row exactly once, in the same order as one big page.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { listMachines, MACHINE_SORTS, type MachineQuery } from '../../../src/model/machine-admin.ts';
import { makeFixture, type Fixture } from './helpers.ts';

let f: Fixture;
before(async () => {
  f = await makeFixture({ machinesPerBranch: 23, users: false });
  // Some machines without hostname, address or image; some sharing a hostname.
  const rows = await f.ctx.db.selectFrom('machines').select(['id', 'mac']).orderBy('id').execute();
  for (const [i, r] of rows.entries()) {
    await f.ctx.db.updateTable('machines').set({
      hostname: i % 5 === 0 ? null : i % 7 === 0 ? 'same' : `h-${(i * 37) % 101}`,
      fixed_ip: i % 3 === 0 ? null : `10.9.${i % 4}.${i}`,
      image_id: i % 4 === 0 ? null : 1 + (i % 2),
      last_seen_at: i % 6 === 0 ? null : 1000 + ((i * 13) % 17),
    }).where('id', '=', r.id).execute();
  }
});
after(async () => { await f.close(); });

async function walk(q: MachineQuery, size: number): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const p = await listMachines(f.ctx.db, null, { ...q, limit: size, cursor });
    out.push(...p.items.map((m) => m.mac));
    if (!p.nextCursor) return out;
    cursor = p.nextCursor;
  }
  throw new Error('pagination did not end');
}

test('small pages equal one big page for every sort and direction', { timeout: 30_000 }, async () => {
  for (const sort of MACHINE_SORTS) {
    for (const desc of [false, true]) {
      for (const filter of [{}, { branchId: f.branchA }, { q: 'h-' }]) {
        const all = (await listMachines(f.ctx.db, null, { ...filter, sort, desc, limit: 500 })).items.map((m) => m.mac);
        const paged = await walk({ ...filter, sort, desc }, 4);
        assert.deepEqual(paged, all, `${sort} ${desc ? 'desc' : 'asc'} ${JSON.stringify(filter)}`);
        assert.equal(new Set(paged).size, paged.length);
      }
    }
  }
});

test('a cursor from another sort is refused', { timeout: 10_000 }, async () => {
  const p = await listMachines(f.ctx.db, null, { sort: 'lastSeen', limit: 2 });
  await assert.rejects(listMachines(f.ctx.db, null, { sort: 'mac', cursor: p.nextCursor! }), /cursor/);
});
