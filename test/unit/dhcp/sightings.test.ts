// The discovered-machine recorder follows the machines table at every subnet reload. During a boot
// storm the table grows by our own sightings between reloads; the recorder must then read only
// the rows that changed, and still notice what other processes delete or change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Kysely, SqliteDialect } from '../../../src/db/kysely.ts';
import type { Db } from '../../../src/db/index.ts';
import { inlineWriter } from '../../../src/dhcp/db-writer.ts';
import { SightingRecorder } from '../../../src/dhcp/sightings.ts';
import { addMachine, makeCtx } from './helpers.ts';

const log = pino({ level: 'silent' });
const mac = (i: number) => `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

/** A recorder on its own connection whose SQL is counted: how much of the table each reload reads. */
async function rig() {
  const t = await makeCtx([]);
  const queries: string[] = [];
  const db: Db = new Kysely({ dialect: new SqliteDialect({ database: t.handle.sqlite }), log: (e) => { if (e.level === 'query') queries.push(e.query.sql); } });
  const rec = new SightingRecorder(db, inlineWriter(db), log);
  /** Rows a reload read as MACs: whole-table reads and reads of recent changes, counted apart. */
  const reads = () => ({ all: queries.filter((q) => /select "mac" from "machines"$/.test(q)).length, since: queries.filter((q) => /select "mac" from "machines" where "updated_at" >=/.test(q)).length });
  return { t, rec, queries, reads };
}

test('a storm of our own sightings: each reload reads the new rows, not the whole table again', async () => {
  const { t, rec, queries, reads } = await rig();
  try {
    await rec.refresh();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 500; i++) rec.saw({ mac: mac(round * 500 + i), branchId: null });
      await rec.flush();
      // Our rows get the current millisecond: the next reload must see a newer updated_at.
      await new Promise((r) => setTimeout(r, 5));
      queries.length = 0;
      await rec.refresh();
      assert.deepEqual(reads(), { all: 0, since: 1 }, `reload ${round + 1} read only the changed rows`);
    }
    // Migration 0009: the changed rows are found by an index, not by reading every machine.
    const since = queries.find((q) => /where "updated_at" >=/.test(q))!;
    const plan = (t.handle.sqlite.prepare(`EXPLAIN QUERY PLAN ${since}`).all(0) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    assert.match(plan, /^SEARCH machines USING (COVERING )?INDEX machines_updated/, plan);
    queries.length = 0;
    await rec.refresh();
    assert.deepEqual(reads(), { all: 0, since: 0 }, 'nothing changed: the signature alone');
    assert.ok(rec.knows(mac(1499)));
  } finally { await t.close(); }
});

test('another process adds, deletes or re-addresses a machine: the next reload knows', async () => {
  const { t, rec, reads, queries } = await rig();
  try {
    await addMachine(t, mac(1), null);
    await addMachine(t, mac(2), null);
    await rec.refresh();
    assert.ok(rec.knows(mac(1)) && rec.knows(mac(2)));

    await new Promise((r) => setTimeout(r, 5));
    await addMachine(t, mac(3), null);
    queries.length = 0;
    await rec.refresh();
    assert.ok(rec.knows(mac(3)), 'added elsewhere');
    assert.deepEqual(reads(), { all: 0, since: 1 });

    // A MAC corrected in the console: same row count, a newer update; the old MAC must not stay known.
    await new Promise((r) => setTimeout(r, 5));
    await t.handle.db.updateTable('machines').set({ mac: mac(4), updated_at: Date.now() }).where('mac', '=', mac(2)).execute();
    await rec.refresh();
    assert.ok(rec.knows(mac(4)), 'the new MAC is known');
    assert.equal(rec.knows(mac(2)), false, 'the old MAC is not: a desktop with it becomes a discovered machine again');

    // Deleted (a prune): fewer rows, no newer update.
    await t.handle.db.deleteFrom('machines').where('mac', '=', mac(1)).execute();
    await rec.refresh();
    assert.equal(rec.knows(mac(1)), false, 'deleted elsewhere');
    assert.ok(rec.knows(mac(3)) && rec.knows(mac(4)));
  } finally { await t.close(); }
});

test('a batch of sightings is written field by field to the right machine', async () => {
  const { t, rec } = await rig();
  try {
    await rec.refresh();
    const branchId = t.branchIds.get('main') ?? null;
    rec.saw({ mac: mac(1), branchId, arch: 7, firmware: 'uefi-x64', uuid: 'u-1', relayCircuit: 'c-1', relayRemote: 'r-1' });
    rec.saw({ mac: mac(2), branchId: null });
    rec.saw({ mac: mac(1), branchId, arch: 0, firmware: 'bios' }); // already queued: the first one counts
    rec.saw({ mac: mac(3), branchId, arch: 0, firmware: 'bios', relayRemote: 'r-3' });
    await rec.flush();
    const rows = await t.handle.db.selectFrom('machines').select(['mac', 'branch_id', 'last_arch', 'last_firmware', 'uuid', 'relay_circuit', 'relay_remote']).orderBy('mac').execute();
    assert.deepEqual(rows, [
      { mac: mac(1), branch_id: branchId, last_arch: 7, last_firmware: 'uefi-x64', uuid: 'u-1', relay_circuit: 'c-1', relay_remote: 'r-1' },
      { mac: mac(2), branch_id: null, last_arch: null, last_firmware: null, uuid: null, relay_circuit: null, relay_remote: null },
      { mac: mac(3), branch_id: branchId, last_arch: 0, last_firmware: 'bios', uuid: null, relay_circuit: null, relay_remote: 'r-3' },
    ]);
    // The queue starts empty again: the next batch has only what came after.
    rec.saw({ mac: mac(4), branchId: null, uuid: 'u-4' });
    await rec.flush();
    assert.equal((await t.handle.db.selectFrom('machines').select('uuid').where('mac', '=', mac(4)).executeTakeFirstOrThrow()).uuid, 'u-4');
  } finally { await t.close(); }
});
