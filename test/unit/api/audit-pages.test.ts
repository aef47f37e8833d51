// An audit page filtered by actor, entity or one entity's id walks an index newest first and
// stops at the page (migration 0007); it used to read the log from the newest row until enough
// rows matched: all 110,000 rows of a year for a rare actor or one machine's history.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { auditPageQuery, type AuditQuery } from '../../../src/model/audit-query.ts';
import { makeFixture, type Fixture } from './helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 1, users: false }); });
after(async () => { await f.close(); });

function plan(q: AuditQuery): string {
  const c = auditPageQuery(f.ctx.db, q).compile();
  return (f.handle.sqlite.prepare(`EXPLAIN QUERY PLAN ${c.sql}`).all(...c.parameters) as { detail: string }[]).map((r) => r.detail).join('\n');
}

test('every audit filter is an index search in id order', () => {
  const cases: [AuditQuery, RegExp][] = [
    [{ actor: 'token:x', limit: 51 }, /audit_log_actor/],
    [{ entity: 'user', limit: 51 }, /audit_log_entity/],
    [{ entity: 'machine', entityId: '02:00:00:00:00:01', limit: 51 }, /audit_log_entity_id/],
    [{ entityId: '7', beforeId: 100, limit: 51 }, /audit_log_entity_id/],
    [{ entity: 'user', actor: 'user:a', beforeId: 100, limit: 51 }, /audit_log_(actor|entity)/],
  ];
  for (const [q, index] of cases) {
    const p = plan(q);
    assert.match(p, /^SEARCH audit_log USING INDEX/m, `${JSON.stringify(q)}: ${p}`);
    assert.match(p, index, `${JSON.stringify(q)}: ${p}`);
    if (!q.entityId || q.entity) assert.doesNotMatch(p, /TEMP B-TREE/, `${JSON.stringify(q)}: ${p}`);
  }
});
