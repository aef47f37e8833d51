import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pino } from 'pino';
import { openDatabase } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { queryBootEvents } from '../../../src/model/events.ts';
import { tempDir } from '../../helpers/cli.ts';

for (const prepared of [false, true]) {
  test(`boot events reach live listeners at once and the database in batches (${prepared ? 'prepared statement' : 'Kysely'})`, async () => {
    const h = openDatabase(path.join(tempDir(), 'bb.db'));
    try {
      const bus = new EventBus(h.db, pino({ level: 'silent' }), 50, prepared ? h.sqlite : undefined);
      const live: string[] = [];
      const off = bus.onBoot((e) => live.push(e.stage));
      for (let i = 0; i < 1200; i++) bus.record({ mac: '52:54:00:00:00:01', ip: '10.0.0.5', stage: i % 2 ? 'dhcp.offer' : 'dhcp.discover', detail: { i } });
      off();
      assert.equal(live.length, 1200, 'listeners see every event synchronously');
      await bus.flush();
      const rows = await queryBootEvents(h.db, { mac: '52:54:00:00:00:01', limit: 1000 });
      assert.equal(rows.length, 1000);
      assert.deepEqual(JSON.parse(rows[0]!.detail), { i: 1199 }, 'newest first');
      const n = await h.db.selectFrom('boot_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 1200);
    } finally {
      await h.close();
    }
  });
}
