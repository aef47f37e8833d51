// The planner answers every PXE packet of a boot storm with these lookups. Before migration
// 0008 the UUID lookup read the whole machines table, which the storm itself grows by one
// discovered row per client: ~950 µs of the packet thread per DORA at 10,000 clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { attachReader } from '../../../src/model/read-conn.ts';
import { getMachineByUuid, LOOKUP_SQL } from '../../../src/model/boot-queries.ts';
import { tempDir } from '../../helpers/cli.ts';

test('each lookup of a PXE packet is an index search, never a scan of its table', async () => {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try {
    for (const [name, text] of Object.entries(LOOKUP_SQL)) {
      const params = Array.from({ length: text.split('?').length - 1 }, () => 1);
      const plan = (h.sqlite.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
      assert.ok(plan.some((d) => /^SEARCH /.test(d)) && !plan.some((d) => /^SCAN /.test(d)), `${name}: ${plan.join('; ')}`);
    }
  } finally {
    await h.close();
  }
});

test('a UUID names a registered machine only when exactly one has it, on the read connection as through Kysely', async () => {
  const file = path.join(tempDir(), 'bb.db');
  const h = openDatabase(file);
  const now = Date.now();
  const row = (mac: string, uuid: string | null, state: 'registered' | 'discovered') => ({ mac, uuid, state, created_at: now, updated_at: now });
  const u = '4c4c4544-0042-3510-8052-b4c04f4b4d31';
  const twice = '4c4c4544-0042-3510-8052-b4c04f4b4d32';
  await h.db.insertInto('machines').values([
    row('52:54:00:00:00:01', u, 'registered'), row('52:54:00:00:00:02', u, 'discovered'),
    row('52:54:00:00:00:03', twice, 'registered'), row('52:54:00:00:00:04', twice, 'registered'),
    row('52:54:00:00:00:05', null, 'registered'),
  ]).execute();
  const release = attachReader(h.db, file);
  try {
    for (const pass of ['reader', 'kysely']) {
      if (pass === 'kysely') release();
      assert.equal((await getMachineByUuid(h.db, u))?.mac, '52:54:00:00:00:01', pass);
      assert.equal(await getMachineByUuid(h.db, twice), undefined, `${pass}: shared by two`);
      assert.equal(await getMachineByUuid(h.db, '4c4c4544-0042-3510-8052-b4c04f4b4d33'), undefined, pass);
    }
  } finally {
    release();
    await h.close();
  }
});
