import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import { createEventRetentionService } from '../../../src/event-retention.ts';
import { pruneBootEvents } from '../../../src/model/events.ts';
import { tempDir } from '../../helpers/cli.ts';

const DAY = 86_400_000;

async function withDb(fn: (h: ReturnType<typeof openDatabase>) => Promise<void>): Promise<void> {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try { await fn(h); } finally { await h.close(); }
}

const insert = (h: ReturnType<typeof openDatabase>, ats: number[]) =>
  h.db.insertInto('boot_events').values(ats.map((at, i) => ({ at, mac: `52:54:00:00:00:${(i % 256).toString(16).padStart(2, '0')}`, ip: null, branch_id: null, stage: 'dhcp.discover', detail: '{}' }))).execute();
const remaining = async (h: ReturnType<typeof openDatabase>) => (await h.db.selectFrom('boot_events').select('at').orderBy('id').execute()).map((r) => r.at);

test('pruning deletes the events before the cut-off, oldest first, across several batches', async () => {
  await withDb(async (h) => {
    const now = 1_800_000_000_000;
    const ats = [...Array.from({ length: 2500 }, (_, i) => now - 100 * DAY + i), ...Array.from({ length: 30 }, (_, i) => now - DAY + i)];
    for (let i = 0; i < ats.length; i += 100) await insert(h, ats.slice(i, i + 100));
    assert.equal(await pruneBootEvents(h.db, now - 90 * DAY, { batch: 1000 }), 2500);
    assert.deepEqual(await remaining(h), ats.slice(2500));
    assert.equal(await pruneBootEvents(h.db, now - 90 * DAY, { batch: 1000 }), 0, 'a second pass finds nothing');
  });
});

test('pruning stops at the first event inside the window; a late straggler goes once the rows before it are old', async () => {
  await withDb(async (h) => {
    const cut = 1_000_000;
    // Written out of time order (writers queue rows for up to half a second): an old row after a new one.
    await insert(h, [cut - 30, cut - 20, cut + 5, cut - 10, cut + 6]);
    assert.equal(await pruneBootEvents(h.db, cut, { batch: 2 }), 2);
    assert.deepEqual(await remaining(h), [cut + 5, cut - 10, cut + 6]);
    assert.equal(await pruneBootEvents(h.db, cut + 6), 2);
    assert.deepEqual(await remaining(h), [cut + 6]);
  });
});

test('an aborted pass ends between statements', async () => {
  await withDb(async (h) => {
    await insert(h, Array.from({ length: 100 }, (_, i) => i));
    const ac = new AbortController();
    const pass = pruneBootEvents(h.db, 1000, { batch: 10, pauseMs: 20, signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    const n = await pass;
    assert.ok(n >= 10 && n < 100, `deleted ${n}`);
    assert.equal((await remaining(h)).length, 100 - n);
  });
});

test('an empty table and keepDays 0 delete nothing', async () => {
  await withDb(async (h) => {
    assert.equal(await pruneBootEvents(h.db, Date.now()), 0);
    const config = loadConfig({ env: {}, overrides: { dataDir: tempDir(), 'events.keepDays': 0 } });
    const log = pino({ level: 'silent' });
    const svc = createEventRetentionService({ config, db: h.db, log, events: new EventBus(h.db, log), planner: createPlanner({ config, db: h.db, log }) });
    await svc.start();
    assert.equal(svc.health().state, 'disabled');
  });
});

test('the retention service runs a pass after start and then on its interval', async () => {
  await withDb(async (h) => {
    const now = Date.now();
    await insert(h, [now - 40 * DAY, now - 31 * DAY, now - 29 * DAY]);
    const config = loadConfig({ env: {}, overrides: { dataDir: tempDir(), 'events.keepDays': 30 } });
    const log = pino({ level: 'silent' });
    let clock = now;
    const svc = createEventRetentionService({ config, db: h.db, log, events: new EventBus(h.db, log), planner: createPlanner({ config, db: h.db, log }) }, { firstPassMs: 10, intervalMs: 30, now: () => clock });
    await svc.start();
    try {
      for (let i = 0; i < 100 && (await remaining(h)).length !== 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await remaining(h), [now - 29 * DAY]);
      assert.equal(svc.health().detail?.deleted, 2);
      clock = now + 2 * DAY;
      for (let i = 0; i < 100 && (await remaining(h)).length !== 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await remaining(h), [], 'the next pass, a day later, deletes the row that has aged out');
    } finally {
      await svc.stop(1000);
    }
    assert.equal(svc.health().state, 'stopped');
  });
});
