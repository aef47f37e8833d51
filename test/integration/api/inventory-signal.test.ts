// A successful inventory write through the API or the console tells DHCP at once (the bus's
// 'inventory' topic); reads, refusals and other writes do not.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { csrfOf, getPage, login, macFor, makeFixture, postForm, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
let signals = 0;
before(async () => { f = await makeFixture({ users: true }); f.ctx.events.on('inventory', () => { signals++; }); });
after(async () => { await f.close(); });

test('inventory writes signal, reads and refusals do not', { timeout: 15_000 }, async () => {
  const url = `/api/v1/machines/${macFor(0, 0)}`;
  await f.req('GET', url, { token: f.tokens.admin });
  assert.equal((await f.req('PATCH', url, { token: f.tokens.admin, body: { ip: '10.9.9.9' }, headers: { 'if-match': '*' } })).statusCode, 400);
  assert.equal(signals, 0);
  assert.equal((await f.req('PATCH', url, { token: f.tokens.admin, body: { ip: '10.1.0.77' }, headers: { 'if-match': '*' } })).statusCode, 200);
  assert.equal(signals, 1, 'an API write');
  assert.equal((await f.req('POST', '/api/v1/images', { token: f.tokens.admin, body: { name: 'other' } })).statusCode, 201);
  assert.equal(signals, 1, 'not an inventory write');
  const { jar } = await login(f, 'admin');
  const page = await getPage(f, jar, `/machines/${macFor(0, 1)}`);
  const etag = /name="etag" value="([^"]*)"/.exec(page.body)![1]!.replace(/&quot;/g, '"');
  const r = await postForm(f, jar, `/machines/${macFor(0, 1)}`, [['etag', etag], ['hostname', 'renamed'], ['image', '-'], ['version', ''], ['action', 'local'], ['_csrf', csrfOf(page.body)]], null);
  assert.equal(r.statusCode, 303, r.body);
  assert.equal(signals, 2, 'a console write');
});
