// What a provisioning script sees when it runs again: applying the same machine change twice
// changes nothing the second time (same ETag, no audit rows), and moving a machine to another
// image does not carry the old image's version pin along.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { macFor, makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 4 }); });
after(async () => { await f.close(); });

const auditRows = async (mac: string) => (await f.ctx.db.selectFrom('audit_log').select('id').where('entity_id', '=', mac).execute()).length;
const get = (mac: string) => f.req('GET', `/api/v1/machines/${mac}`, { token: f.tokens.admin });

test('PATCH with the values the machine already has keeps its ETag and writes no audit row', { timeout: 15_000 }, async () => {
  const mac = macFor(0, 0);
  const first = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { hostname: 'pc-1', action: 'local' }, headers: { 'if-match': String((await get(mac)).headers.etag) } });
  assert.equal(first.statusCode, 200, first.body);
  const tag = String(first.headers.etag);
  const rows = await auditRows(mac);
  const again = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { hostname: 'pc-1', action: 'local' }, headers: { 'if-match': tag } });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(String(again.headers.etag), tag, 'another admin\'s ETag stays valid');
  assert.equal(await auditRows(mac), rows);
  const stale = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { hostname: 'pc-1' }, headers: { 'if-match': '"old"' } });
  assert.equal(stale.statusCode, 412, 'a no-op is still checked against If-Match');
});

test('bulk assign run twice: the second run reports 0 changed, keeps ETags, adds no audit rows; a repeated MAC counts once', { timeout: 15_000 }, async () => {
  const macs = [macFor(0, 1), macFor(0, 2), macFor(0, 1)];
  const body = { macs, image: 'debian', version: 2, action: 'image' };
  const first = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.admin, body });
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual(first.json(), { changed: 2, macs: [macFor(0, 1), macFor(0, 2)] });
  const tags = await Promise.all([macFor(0, 1), macFor(0, 2)].map(async (m) => String((await get(m)).headers.etag)));
  const rows = await auditRows(macFor(0, 1));
  const again = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.admin, body });
  assert.deepEqual(again.json(), { changed: 0, macs: [macFor(0, 1), macFor(0, 2)] });
  assert.deepEqual(await Promise.all([macFor(0, 1), macFor(0, 2)].map(async (m) => String((await get(m)).headers.etag))), tags);
  assert.equal(await auditRows(macFor(0, 1)), rows);
});

test('assigning "once" again re-arms it: a change, audited', { timeout: 15_000 }, async () => {
  const mac = macFor(0, 3);
  await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.admin, body: { macs: [mac], image: 'ubuntu', action: 'once' } });
  // The planner clears the flag when the root was fetched.
  await f.ctx.db.updateTable('machines').set({ once_pending: 0 }).where('mac', '=', mac).execute();
  const rows = await auditRows(mac);
  const r = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.admin, body: { macs: [mac], action: 'once' } });
  assert.equal(r.json().changed, 1);
  assert.equal((await f.ctx.db.selectFrom('machines').select('once_pending').where('mac', '=', mac).executeTakeFirstOrThrow()).once_pending, 1);
  assert.equal(await auditRows(mac), rows + 1);
});

test('moving a pinned machine to another image drops the old pin; naming the same image keeps it', { timeout: 15_000 }, async () => {
  const mac = macFor(1, 0);
  const pin = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { image: 'ubuntu', version: 1 }, headers: { 'if-match': '*' } });
  assert.equal(pin.json().version, 1);
  const same = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { image: 'ubuntu' }, headers: { 'if-match': '*' } });
  assert.equal(same.json().version, 1, 'same image: the pin stays');
  const moved = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { image: 'debian' }, headers: { 'if-match': '*' } });
  assert.equal(moved.statusCode, 200, moved.body);
  assert.equal(moved.json().image, 'debian');
  assert.equal(moved.json().version, null, 'follows debian\'s current version');
  // The same through bulk assign.
  await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body: { version: 2 }, headers: { 'if-match': '*' } });
  const bulk = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.admin, body: { macs: [mac], image: 'ubuntu' } });
  assert.equal(bulk.statusCode, 200, bulk.body);
  assert.equal((await get(mac)).json().version, null);
  const plan = await f.req('GET', `/api/v1/machines/${mac}/boot-plan`, { token: f.tokens.admin });
  assert.equal(plan.json().kind, 'image', plan.body);
});
