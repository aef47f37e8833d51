// Boot event pages cost their page, not the table: a branch's newest events walk an index
// that is in id order (no temporary sort of all the branch's rows), a time window is bounded
// by ids found by binary search (no walk back from the newest row), and several branches are
// merged from one walk each. And they list exactly what a filter over every row would.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ID_ENDS_SQL, ID_SEEK_SQL, eventPageQuery, idAtOrAfter, queryBootEvents, type EventQuery } from '../../../src/model/events.ts';
import { makeFixture, type Fixture } from './helpers.ts';

let f: Fixture;
const T0 = 1_700_000_000_000;
interface Ev { id: number; at: number; branch: number | null }
const events: Ev[] = [];

before(async () => {
  f = await makeFixture({ machinesPerBranch: 1, users: false });
  // 3,000 events a second apart, written up to 30 s out of time order (the writers' queues),
  // over branches A and B and none.
  const ins = f.handle.sqlite.prepare('INSERT INTO boot_events (at, mac, branch_id, stage) VALUES (?, ?, ?, ?)');
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  f.handle.sqlite.transaction(() => {
    for (let i = 0; i < 3000; i++) {
      const at = T0 + i * 1000 - Math.floor(rnd() * 30_000);
      const branch = i % 3 === 0 ? f.branchA : i % 3 === 1 ? f.branchB : null;
      const id = Number(ins.run(at, `02:00:00:00:00:${(i % 256).toString(16).padStart(2, '0')}`, branch, 'dhcp.ack').lastInsertRowid);
      events.push({ id, at, branch });
    }
  })();
});
after(async () => { await f.close(); });

function plan(q: Parameters<typeof eventPageQuery>[1]): string {
  const c = eventPageQuery(f.ctx.db, q).compile();
  return (f.handle.sqlite.prepare(`EXPLAIN QUERY PLAN ${c.sql}`).all(...c.parameters) as { detail: string }[]).map((r) => r.detail).join('\n');
}

test('a branch page walks boot_events_branch in id order: no sort of the branch\'s rows', () => {
  for (const q of [{ branchId: f.branchA, limit: 51 }, { branchId: f.branchA, beforeId: 900, limit: 51 }, { branchId: f.branchA, fromId: 100, since: T0, limit: 51 }]) {
    const p = plan(q);
    assert.match(p, /boot_events_branch/, p);
    assert.doesNotMatch(p, /TEMP B-TREE/, p);
  }
});

test('a time window is an id range of the table, not a scan', () => {
  const p = plan({ since: T0 + 100_000, until: T0 + 200_000, fromId: 40, belowId: 260, limit: 51 });
  assert.doesNotMatch(p, /TEMP B-TREE/, p);
  assert.match(p, /SEARCH boot_events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/, p);
});

test('the binary search\'s statements are seeks, never a scan of the table', () => {
  for (const [text, params] of [[ID_ENDS_SQL, []], [ID_SEEK_SQL, [5]]] as const) {
    const p = (f.handle.sqlite.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('\n');
    assert.doesNotMatch(p, /SCAN boot_events/, p);
  }
});

test('idAtOrAfter: rows before it are older than t + slack at most, rows from it on are not older than t - slack', async () => {
  for (const t of [T0 - 10_000_000, T0, T0 + 555_555, T0 + 2_999_000, T0 + 10_000_000]) {
    const id = await idAtOrAfter(f.ctx.db, t);
    if (id === undefined) {
      assert.ok(events.every((e) => e.at < t));
      continue;
    }
    assert.ok(events.filter((e) => e.id < id).every((e) => e.at < t + 60_000));
    assert.ok(events.filter((e) => e.id >= id).every((e) => e.at >= t - 60_000));
  }
});

test('pages equal a filter over every row, for windows, branches, several branches and cursors', async () => {
  const brute = (q: EventQuery) => events.filter((e) => (q.since === undefined || e.at >= q.since) && (q.until === undefined || e.at < q.until)
    && (!q.branchIds || (e.branch !== null && q.branchIds.includes(e.branch))) && (q.beforeId === undefined || e.id < q.beforeId))
    .sort((a, b) => b.id - a.id).slice(0, q.limit).map((e) => e.id);
  const queries: EventQuery[] = [
    { limit: 50 }, { branchIds: [f.branchA], limit: 50 }, { branchIds: [f.branchA, f.branchB], limit: 70 },
    { since: T0 + 1_000_000, limit: 40 }, { until: T0 + 1_000_000, limit: 40 }, { since: T0 + 500_000, until: T0 + 530_000, limit: 100 },
    { since: T0 + 500_000, until: T0 + 530_000, branchIds: [f.branchB, f.branchA], limit: 100 }, { until: T0 + 2_000_000, beforeId: 1500, branchIds: [f.branchB], limit: 30 },
    { since: T0 + 50_000_000, limit: 10 }, { until: T0 - 50_000_000, limit: 10 }, { branchIds: [], limit: 10 },
  ];
  for (const q of queries) assert.deepEqual((await queryBootEvents(f.ctx.db, q)).map((e) => e.id), brute(q), JSON.stringify(q));
});
