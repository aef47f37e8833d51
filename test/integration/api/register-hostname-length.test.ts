// Registering discovered machines with a pattern whose labels add up past 253 characters is
// refused like a long hostname in POST /machines, and nothing is registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture } from '../../unit/api/helpers.ts';

test('a hostname pattern expanding past 253 characters is a 400 naming the pattern', { timeout: 15_000 }, async () => {
  const f = await makeFixture({ machinesPerBranch: 1, users: false });
  try {
    const now = Date.now();
    const mac = '02:00:00:dd:00:07';
    await f.ctx.db.insertInto('machines').values({ mac, branch_id: f.branchA, state: 'discovered', created_at: now, updated_at: now }).execute();
    const pattern = Array.from({ length: 5 }, () => '{n:060}').join('.');
    assert.ok(pattern.length <= 200, 'within the schema\'s pattern length');
    const r = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.admin, body: { macs: [mac], branchId: f.branchA, hostnamePattern: pattern } });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().field, 'hostnamePattern');
    assert.match(r.json().detail, /253 in all/);
    const row = await f.ctx.db.selectFrom('machines').select(['state', 'hostname']).where('mac', '=', mac).executeTakeFirstOrThrow();
    assert.deepEqual({ ...row }, { state: 'discovered', hostname: null });
    const ok = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.admin, body: { macs: [mac], branchId: f.branchA, hostnamePattern: 'lab-{n:03}' } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().items[0].hostname, 'lab-001');
  } finally {
    await f.close();
  }
});
