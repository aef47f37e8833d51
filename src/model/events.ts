// Boot events: the timeline of each machine's boot (DHCP → TFTP → HTTP → kernel → root).
import type BetterSqlite3 from 'better-sqlite3';
import type { RawBuilder } from 'kysely';
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import type { BootEvent } from '../db/schema.ts';
import { readQuery } from './read-conn.ts';

export interface BootEventInput {
  at?: number;
  mac?: string | null | undefined;
  ip?: string | null | undefined;
  branchId?: number | null | undefined;
  /**
   * dhcp.discover, dhcp.offer, dhcp.ack, dhcp.nak, dhcp.decline, tftp.file, http.script, http.kernel, http.initrd, http.root,
   * nbd.connect, plan.error … A stored dhcp.ack may carry its OFFER (detail.offeredAt, dhcp/event-log.ts).
   */
  stage: string;
  detail?: Record<string, unknown>;
}

export type BootEventRecord = BootEventInput & { at: number; detail: Record<string, unknown> };

export async function insertBootEvents(db: Db, events: BootEventRecord[]): Promise<void> {
  if (events.length === 0) return;
  await db.transaction().execute(async (trx) => {
    // SQLite limits bound parameters per statement; 6 columns × 100 rows stays far below it.
    for (let i = 0; i < events.length; i += 100) {
      await trx.insertInto('boot_events').values(events.slice(i, i + 100).map((e) => ({
        at: e.at, mac: e.mac ?? null, ip: e.ip ?? null,
        branch_id: e.branchId == null ? null : sql<number | null>`(SELECT id FROM branches WHERE id = ${e.branchId})`,
        stage: e.stage, detail: JSON.stringify(e.detail),
      }))).execute();
    }
  });
}

/** The same insert as insertBootEvents, as one prepared statement in one transaction per batch. */
export function preparedBootEventInsert(sqlite: BetterSqlite3.Database): (events: BootEventRecord[]) => void {
  // A branch deleted since the event was queued: the event keeps no branch rather than failing
  // its batch (DHCP writes events in its lease transaction; a failure there cost clients their ACK).
  const stmt = sqlite.prepare('INSERT INTO boot_events (at, mac, ip, branch_id, stage, detail) VALUES (?, ?, ?, (SELECT id FROM branches WHERE id = ?), ?, ?)');
  return sqlite.transaction((events: BootEventRecord[]) => {
    for (const e of events) stmt.run(e.at, e.mac ?? null, e.ip ?? null, e.branchId ?? null, e.stage, JSON.stringify(e.detail));
  });
}

export interface EventQuery {
  mac?: string | undefined;
  branchIds?: number[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Return events with id below this (pagination, newest first). */
  beforeId?: number | undefined;
  limit?: number | undefined;
}

/**
 * How far out of time order rows may be written: the writers (DHCP's event log, the event bus)
 * each queue rows for up to half a second, so id order is time order only to within that.
 */
const ORDER_SLACK_MS = 60_000;

/**
 * A lower bound for the ids of rows with `at >= since` (migration 0004 dropped the index on at):
 * the id of the newest row older than since minus the slack. Found by reading rows backwards
 * from the newest, as many as the window (plus the slack) holds; use with `at >= since`.
 */
export function idsFrom(since: number): RawBuilder<number> {
  return sql<number>`coalesce((SELECT id FROM boot_events WHERE at < ${since - ORDER_SLACK_MS} ORDER BY id DESC LIMIT 1), 0)`;
}

/**
 * Deletes the boot events older than `before` (ms), oldest first, `batch` rows per statement
 * with a pause between statements. A statement holds the write lock and this thread (which also
 * answers DHCP) for ~12 ms per 250 rows of a million-row table, each commit fsync'ed, so even a
 * first pass over a large table leaves the thread free about half the time, and DHCP commits its
 * leases in between. Ids follow insertion order, which is time order to within ORDER_SLACK_MS:
 * a pass walks ids from the oldest and stops at the first row inside the window; a straggler
 * written late with an older time goes in a later pass. `signal` ends it between statements.
 * Returns the rows deleted.
 */
export async function pruneBootEvents(db: Db, before: number, opts: { batch?: number; pauseMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const { batch = 250, pauseMs = 10, signal } = opts;
  let deleted = 0;
  while (!signal?.aborted) {
    const rows = await db.selectFrom('boot_events').select(['id', 'at']).orderBy('id').limit(batch).execute();
    let old = 0;
    while (old < rows.length && rows[old]!.at < before) old++;
    if (old === 0) return deleted;
    const r = await db.deleteFrom('boot_events').where('id', '<=', rows[old - 1]!.id).executeTakeFirst();
    deleted += Number(r.numDeletedRows);
    if (old < rows.length) return deleted;
    await new Promise((res) => setTimeout(res, pauseMs));
  }
  return deleted;
}

// Two subqueries: SQLite answers a lone min() or max() of the rowid with one seek, but
// "SELECT min(id), max(id)" together reads the whole table (100 ms at 2,000,000 rows).
export const ID_ENDS_SQL = 'SELECT (SELECT min(id) FROM boot_events) AS lo, (SELECT max(id) FROM boot_events) AS hi';
export const ID_SEEK_SQL = 'SELECT id, at FROM boot_events WHERE id >= ? ORDER BY id LIMIT 1';

/**
 * The first id from which every row has `at >= t`, or rows do not come before it (ids follow
 * time order to within ORDER_SLACK_MS, see idsFrom): a binary search over ids, ~21 rowid seeks
 * at 2,000,000 rows, where walking back from the newest row read every row of the window (a
 * month back: 500,000 rows, 37 ms). Undefined when no row has `at >= t`.
 */
export async function idAtOrAfter(db: Db, t: number): Promise<number | undefined> {
  const ends = (await readQuery<{ lo: number | null; hi: number | null }>(db, ID_ENDS_SQL, []))[0];
  if (!ends || ends.lo === null || ends.hi === null) return undefined;
  let lo = ends.lo, hi = ends.hi + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const r = (await readQuery<{ id: number; at: number }>(db, ID_SEEK_SQL, [mid]))[0];
    if (!r || r.at >= t) hi = mid;
    else lo = r.id + 1;
  }
  return lo > ends.hi ? undefined : lo;
}

/** Id bounds of a time window: rows outside [from, below) cannot have since <= at < until. */
export async function idWindow(db: Db, since: number | undefined, until: number | undefined): Promise<{ from?: number; below?: number } | 'empty'> {
  const out: { from?: number; below?: number } = {};
  if (since !== undefined) {
    const from = await idAtOrAfter(db, since - ORDER_SLACK_MS);
    if (from === undefined) return 'empty';
    out.from = from;
  }
  if (until !== undefined) {
    const below = await idAtOrAfter(db, until + ORDER_SLACK_MS);
    if (below !== undefined) out.below = below;
  }
  return out;
}

/** One page of one branch's (or every branch's) events, newest first: an index walk that stops at the page. */
export function eventPageQuery(db: Db, q: EventQuery & { branchId?: number | undefined; fromId?: number | undefined; belowId?: number | undefined }) {
  let sel = db.selectFrom('boot_events').selectAll();
  if (q.mac) sel = sel.where('mac', '=', q.mac);
  if (q.branchId !== undefined) sel = sel.where('branch_id', '=', q.branchId);
  if (q.since !== undefined) sel = sel.where('at', '>=', q.since);
  if (q.until !== undefined) sel = sel.where('at', '<', q.until);
  if (q.fromId !== undefined) sel = sel.where('id', '>=', q.fromId);
  const below = Math.min(q.beforeId ?? Infinity, q.belowId ?? Infinity);
  if (below !== Infinity) sel = sel.where('id', '<', below);
  return sel.orderBy('id', 'desc').limit(Math.min(q.limit ?? 100, 1000));
}

export async function queryBootEvents(db: Db, q: EventQuery): Promise<BootEvent[]> {
  const w = await idWindow(db, q.since, q.until);
  if (w === 'empty') return [];
  const base = { ...q, fromId: w.from, belowId: w.below };
  if (!q.branchIds) return eventPageQuery(db, base).execute();
  // Several branches (a token or admin of some schools): one index walk each, merged. An IN
  // list would gather every row of those branches and sort them for one page.
  const pages = await Promise.all([...new Set(q.branchIds)].map((b) => eventPageQuery(db, { ...base, branchId: b }).execute()));
  return pages.flat().sort((a, b) => b.id - a.id).slice(0, Math.min(q.limit ?? 100, 1000));
}
