// /api/v1/images (current, roll back, remove only unused versions, import job validation),
// /api/v1/users, /api/v1/tokens, /api/v1/audit, /api/v1/events (+ live SSE).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, macFor, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture(); });
after(async () => { await f.close(); });

test('images: list with versions, sizes and shared bytes; branch-limited callers may not change them', { timeout: 10_000 }, async () => {
  const r = await f.req('GET', '/api/v1/images', { token: f.tokens.readA });
  assert.equal(r.statusCode, 200);
  const ubuntu = r.json().items.find((i: { name: string }) => i.name === 'ubuntu');
  assert.equal(ubuntu.effectiveVersion, 2);
  assert.deepEqual(ubuntu.versions.map((v: { bytesNew: number; bytesShared: number }) => [v.bytesNew, v.bytesShared]), [[5000, 0], [1500, 3500]]);
  assert.equal((await f.req('PATCH', '/api/v1/images/ubuntu', { token: f.tokens.adminA, body: { currentVersion: 1 }, headers: { 'if-match': '*' } })).statusCode, 403);
  assert.equal((await f.req('GET', '/api/v1/images/nope', { token: f.tokens.read })).statusCode, 404);
  assert.equal((await f.req('GET', '/api/v1/images')).statusCode, 401);
});

test('images: set current with If-Match, roll back, stale 412, bad version 400', { timeout: 10_000 }, async () => {
  const g = await f.req('GET', '/api/v1/images/debian', { token: f.tokens.admin });
  const etag = String(g.headers.etag);
  assert.equal((await f.req('PATCH', '/api/v1/images/debian', { token: f.tokens.admin, body: { currentVersion: 1 } })).statusCode, 428);
  const bad = await f.req('PATCH', '/api/v1/images/debian', { token: f.tokens.admin, body: { currentVersion: 9 }, headers: { 'if-match': etag } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().field, 'currentVersion');
  const set = await f.req('PATCH', '/api/v1/images/debian', { token: f.tokens.admin, body: { currentVersion: 2 }, headers: { 'if-match': etag } });
  assert.equal(set.statusCode, 200, set.body);
  assert.equal((await f.req('POST', '/api/v1/images/debian/rollback', { token: f.tokens.admin, headers: { 'if-match': etag } })).statusCode, 412);
  const rb = await f.req('POST', '/api/v1/images/debian/rollback', { token: f.tokens.admin, headers: { 'if-match': String(set.headers.etag) } });
  assert.equal(rb.statusCode, 200, rb.body);
  assert.equal(rb.json().effectiveVersion, 1);
  const again = await f.req('POST', '/api/v1/images/debian/rollback', { token: f.tokens.admin, headers: { 'if-match': '*' } });
  assert.equal(again.statusCode, 409, 'nothing before version 1');
  const audit = (await f.req('GET', '/api/v1/audit?entity=image&entityId=debian', { token: f.tokens.admin })).json().items[0];
  assert.equal(audit.action, 'rollback');
  assert.equal(audit.before.currentVersion, 2);
  assert.equal(audit.after.currentVersion, 1);
});

test('versions: removal refused while used, allowed once unused', { timeout: 10_000 }, async () => {
  // ubuntu: current = newest (2); pin a machine to 1.
  const m = macFor(0, 0);
  await f.req('PATCH', `/api/v1/machines/${m}`, { token: f.tokens.admin, body: { image: 'ubuntu', version: 1 }, headers: { 'if-match': '*' } });
  const used = await f.req('DELETE', '/api/v1/images/ubuntu/versions/1', { token: f.tokens.admin });
  assert.equal(used.statusCode, 409);
  assert.match(used.json().detail, /pinned/);
  assert.equal((await f.req('DELETE', '/api/v1/images/ubuntu/versions/1', { token: f.tokens.writeA })).statusCode, 403);
  await f.req('PATCH', `/api/v1/machines/${m}`, { token: f.tokens.admin, body: { image: null }, headers: { 'if-match': '*' } });
  assert.equal((await f.req('DELETE', '/api/v1/images/ubuntu/versions/1', { token: f.tokens.admin })).statusCode, 204);
  assert.equal((await f.req('DELETE', '/api/v1/images/ubuntu/versions/1', { token: f.tokens.admin })).statusCode, 404);
  const v = (await f.req('GET', '/api/v1/images/ubuntu', { token: f.tokens.admin })).json().versions;
  assert.deepEqual(v.map((x: { version: number }) => x.version), [2]);
});

test('images: create, import job validates the server path', { timeout: 10_000 }, async () => {
  const c = await f.req('POST', '/api/v1/images', { token: f.tokens.admin, body: { name: 'fedora', flavor: 'dracut' } });
  assert.equal(c.statusCode, 201, c.body);
  const bad = await f.req('POST', '/api/v1/images', { token: f.tokens.admin, body: { name: 'bad name' } });
  assert.equal(bad.json().field, 'name');
  assert.equal((await f.req('POST', '/api/v1/images/fedora/imports', { token: f.tokens.read, body: { path: '/nope' } })).statusCode, 403);
  const rel = await f.req('POST', '/api/v1/images/fedora/imports', { token: f.tokens.admin, body: { path: 'relative.iso' } });
  assert.equal(rel.statusCode, 400);
  assert.equal(rel.json().field, 'path');
  const missing = await f.req('POST', '/api/v1/images/fedora/imports', { token: f.tokens.admin, body: { path: '/nonexistent/x.iso' } });
  assert.equal(missing.statusCode, 400);
  assert.equal((await f.req('GET', '/api/v1/imports/42', { token: f.tokens.admin })).statusCode, 404);
});

test('users: admin only, password rules, If-Match, audit without secrets', { timeout: 20_000 }, async () => {
  assert.equal((await f.req('GET', '/api/v1/users', { token: f.tokens.adminA })).statusCode, 403);
  assert.equal((await f.req('GET', '/api/v1/users', { token: f.tokens.read })).statusCode, 403);
  const list = await f.req('GET', '/api/v1/users', { token: f.tokens.admin });
  assert.deepEqual(list.json().items.map((u: { username: string }) => u.username), ['admin', 'alice', 'victor']);
  const short = await f.req('POST', '/api/v1/users', { token: f.tokens.admin, body: { username: 'bob', password: 'short', role: 'viewer' } });
  assert.equal(short.statusCode, 400);
  assert.equal(short.json().field, 'password');
  const badBranch = await f.req('POST', '/api/v1/users', { token: f.tokens.admin, body: { username: 'bob', password: 'long enough pw', role: 'branch_admin', branchIds: [999] } });
  assert.equal(badBranch.json().field, 'branchIds[0]');
  const c = await f.req('POST', '/api/v1/users', { token: f.tokens.admin, body: { username: 'bob', password: 'long enough pw', role: 'branch_admin', branchIds: [f.branchB] } });
  assert.equal(c.statusCode, 201, c.body);
  const id = c.json().id;
  assert.equal((await f.req('PATCH', `/api/v1/users/${id}`, { token: f.tokens.admin, body: { role: 'viewer' } })).statusCode, 428);
  const p = await f.req('PATCH', `/api/v1/users/${id}`, { token: f.tokens.admin, body: { role: 'viewer', password: 'another long pw' }, headers: { 'if-match': String(c.headers.etag) } });
  assert.equal(p.statusCode, 200, p.body);
  assert.equal((await f.req('PATCH', `/api/v1/users/${id}`, { token: f.tokens.admin, body: { role: 'admin' }, headers: { 'if-match': String(c.headers.etag) } })).statusCode, 412);
  const rows = await f.ctx.db.selectFrom('audit_log').select(['before', 'after']).where('entity', '=', 'user').execute();
  assert.ok(rows.length >= 2);
  for (const r of rows) assert.doesNotMatch(`${r.before}${r.after}`, /scrypt|long enough|another long/);
  assert.equal((await f.req('DELETE', `/api/v1/users/${id}`, { token: f.tokens.admin, headers: { 'if-match': String(p.headers.etag) } })).statusCode, 204);
  assert.equal((await f.req('GET', `/api/v1/users/${id}`, { token: f.tokens.admin })).statusCode, 404);
});

test('tokens: created once with a secret that works, limited to its branch, revocable', { timeout: 10_000 }, async () => {
  const c = await f.req('POST', '/api/v1/tokens', { token: f.tokens.admin, body: { name: 'script-b', scopes: ['write'], branchId: f.branchB } });
  assert.equal(c.statusCode, 201, c.body);
  const secret = c.json().token as string;
  assert.match(secret, /^bbt_/);
  const bad = await f.req('POST', '/api/v1/tokens', { token: f.tokens.admin, body: { name: 'x', scopes: ['root'] } });
  assert.equal(bad.json().field, 'scopes[0]');
  assert.equal((await f.req('GET', `/api/v1/branches/${f.branchB}`, { token: secret })).statusCode, 200);
  assert.equal((await f.req('GET', `/api/v1/branches/${f.branchA}`, { token: secret })).statusCode, 403);
  const list = (await f.req('GET', '/api/v1/tokens', { token: f.tokens.admin })).json().items;
  assert.ok(list.every((t: Record<string, unknown>) => !('token' in t) && !('token_hash' in t)));
  assert.equal((await f.req('DELETE', `/api/v1/tokens/${c.json().id}`, { token: f.tokens.admin })).statusCode, 200);
  assert.equal((await f.req('GET', `/api/v1/branches/${f.branchB}`, { token: secret })).statusCode, 401);
  assert.equal((await f.req('DELETE', `/api/v1/tokens/${c.json().id}`, { token: f.tokens.admin })).statusCode, 409);
  assert.equal((await f.req('DELETE', '/api/v1/tokens/999', { token: f.tokens.admin })).statusCode, 404);
});

test('audit: admin only, cursor pages', { timeout: 10_000 }, async () => {
  assert.equal((await f.req('GET', '/api/v1/audit', { token: f.tokens.read })).statusCode, 403);
  const p1 = (await f.req('GET', '/api/v1/audit?limit=2', { token: f.tokens.admin })).json();
  assert.equal(p1.items.length, 2);
  const p2 = (await f.req('GET', `/api/v1/audit?limit=2&cursor=${p1.nextCursor}`, { token: f.tokens.admin })).json();
  assert.ok(p2.items[0].id < p1.items[1].id);
});

test('boot events: query scoped by branch; live SSE delivers only visible events', { timeout: 15_000 }, async () => {
  f.ctx.events.record({ mac: macFor(0, 1), branchId: f.branchA, stage: 'dhcp.discover' });
  f.ctx.events.record({ mac: macFor(1, 1), branchId: f.branchB, stage: 'dhcp.discover' });
  await f.ctx.events.flush();
  const all = (await f.req('GET', '/api/v1/events', { token: f.tokens.read })).json().items;
  assert.equal(all.length, 2);
  const mine = (await f.req('GET', '/api/v1/events', { token: f.tokens.readA })).json().items;
  assert.deepEqual(mine.map((e: { mac: string }) => e.mac), [macFor(0, 1)]);
  assert.equal((await f.req('GET', `/api/v1/events?branch=${f.branchB}`, { token: f.tokens.readA })).statusCode, 403);
  assert.equal((await f.req('GET', '/api/v1/events?since=yesterday', { token: f.tokens.read })).json().field, 'since');

  const address = await f.app.listen({ host: '127.0.0.1', port: 0 });
  const ac = new AbortController();
  try {
    const res = await fetch(`${address}/api/v1/events/stream`, { headers: { authorization: `Bearer ${f.tokens.readA}` }, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    setTimeout(() => {
      f.ctx.events.record({ mac: macFor(1, 2), branchId: f.branchB, stage: 'tftp.file' });
      f.ctx.events.record({ mac: macFor(0, 2), branchId: f.branchA, stage: 'http.script' });
    }, 100);
    let text = '';
    while (!text.includes('http.script')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    assert.match(text, /event: boot\ndata: .*"stage":"http.script"/);
    assert.doesNotMatch(text, /tftp.file/, 'the other branch\'s event was not sent');
    const anon = await fetch(`${address}/api/v1/events/stream`);
    assert.equal(anon.status, 401);
  } finally {
    ac.abort();
  }
});
