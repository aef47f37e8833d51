// /api/v1/branches: success, 400 naming the field, 401, 403 for another branch, 404, 412/428.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture(); });
after(async () => { await f.close(); });

test('list: admin sees both branches, a branch token only its own, no token is 401', { timeout: 10_000 }, async () => {
  const all = await f.req('GET', '/api/v1/branches', { token: f.tokens.admin });
  assert.equal(all.statusCode, 200);
  assert.deepEqual(all.json().items.map((b: { name: string }) => b.name), ['alpha', 'bravo']);
  assert.equal(all.json().items[0].machines, 3);
  const mine = await f.req('GET', '/api/v1/branches', { token: f.tokens.readA });
  assert.deepEqual(mine.json().items.map((b: { name: string }) => b.name), ['alpha']);
  const anon = await f.req('GET', '/api/v1/branches');
  assert.equal(anon.statusCode, 401);
  assert.match(String(anon.headers['content-type']), /application\/problem\+json/);
  assert.match(String(anon.headers['www-authenticate']), /Bearer/);
  const bad = await f.req('GET', '/api/v1/branches', { token: 'bbt_nope' });
  assert.equal(bad.statusCode, 401);
});

test('get: 200 with ETag, 403 for another branch, 404 for none, 400 for a bad id', { timeout: 10_000 }, async () => {
  const r = await f.req('GET', `/api/v1/branches/${f.branchA}`, { token: f.tokens.readA });
  assert.equal(r.statusCode, 200);
  assert.ok(r.headers.etag);
  assert.equal((await f.req('GET', `/api/v1/branches/${f.branchB}`, { token: f.tokens.readA })).statusCode, 403);
  assert.equal((await f.req('GET', '/api/v1/branches/999', { token: f.tokens.admin })).statusCode, 404);
  const bad = await f.req('GET', '/api/v1/branches/x', { token: f.tokens.admin });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().field, 'id');
});

test('create: admin only, validated like the inventory file, audited', { timeout: 10_000 }, async () => {
  const body = { name: 'charlie', subnets: [{ cidr: '10.3.0.0/24', dhcp: 'authoritative', range: '10.3.0.100-10.3.0.200', gateway: '10.3.0.1' }], servers: { http: 'http://10.3.0.2:8080' } };
  assert.equal((await f.req('POST', '/api/v1/branches', { token: f.tokens.writeA, body })).statusCode, 403);
  assert.equal((await f.req('POST', '/api/v1/branches', { token: f.tokens.adminA, body })).statusCode, 403, 'a branch-limited admin may not create branches');
  const bad = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body: { ...body, subnets: [{ ...body.subnets[0], gateway: '10.9.0.1' }] } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().field, 'subnets[0].gateway');
  const typo = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body: { ...body, nmae: 'x' } });
  assert.equal(typo.statusCode, 400);
  assert.equal(typo.json().field, 'nmae');
  const ok = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body });
  assert.equal(ok.statusCode, 201, ok.body);
  assert.equal(ok.json().subnets[0].ranges[0], '10.3.0.100-10.3.0.200');
  const dup = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().field, 'name');
  const audit = await f.req('GET', '/api/v1/audit?entity=branch', { token: f.tokens.admin });
  const row = audit.json().items[0];
  assert.equal(row.actor, 'token:t-admin');
  assert.equal(row.action, 'create');
  assert.equal(row.after.name, 'charlie');
});

test('patch: If-Match required (428), stale (412), scoped (403), audited with before/after', { timeout: 10_000 }, async () => {
  const url = `/api/v1/branches/${f.branchA}`;
  const cur = await f.req('GET', url, { token: f.tokens.writeA });
  const etag = String(cur.headers.etag);
  assert.equal((await f.req('PATCH', url, { token: f.tokens.writeA, body: { description: 'x' } })).statusCode, 428);
  assert.equal((await f.req('PATCH', `/api/v1/branches/${f.branchB}`, { token: f.tokens.writeA, body: { description: 'x' }, headers: { 'if-match': etag } })).statusCode, 403);
  assert.equal((await f.req('PATCH', url, { token: f.tokens.readA, body: { description: 'x' }, headers: { 'if-match': etag } })).statusCode, 403, 'read scope cannot write');
  const bad = await f.req('PATCH', url, { token: f.tokens.writeA, body: { defaultAction: 'explode' }, headers: { 'if-match': etag } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().field, 'defaultAction');
  const ok = await f.req('PATCH', url, { token: f.tokens.writeA, body: { description: 'first floor', defaultImage: 'ubuntu' }, headers: { 'if-match': etag } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().description, 'first floor');
  assert.equal(ok.json().subnets.length, 1, 'subnets kept when not named');
  assert.notEqual(ok.headers.etag, etag);
  const stale = await f.req('PATCH', url, { token: f.tokens.writeA, body: { description: 'second' }, headers: { 'if-match': etag } });
  assert.equal(stale.statusCode, 412);
  const audit = (await f.req('GET', `/api/v1/audit?entity=branch&entityId=${f.branchA}`, { token: f.tokens.admin })).json().items[0];
  assert.equal(audit.before.description, '');
  assert.equal(audit.after.description, 'first floor');
  assert.equal(audit.actor, 'token:t-write-a');
  assert.equal((await f.req('PATCH', '/api/v1/branches/999', { token: f.tokens.admin, body: {}, headers: { 'if-match': '*' } })).statusCode, 404);
});

test('delete: refuses a branch with machines (409), deletes an empty one', { timeout: 10_000 }, async () => {
  assert.equal((await f.req('DELETE', `/api/v1/branches/${f.branchB}`, { token: f.tokens.admin, headers: { 'if-match': '*' } })).statusCode, 409);
  const c = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body: { name: 'delta' } });
  const id = c.json().id;
  assert.equal((await f.req('DELETE', `/api/v1/branches/${id}`, { token: f.tokens.admin })).statusCode, 428);
  assert.equal((await f.req('DELETE', `/api/v1/branches/${id}`, { token: f.tokens.admin, headers: { 'if-match': '"old"' } })).statusCode, 412);
  assert.equal((await f.req('DELETE', `/api/v1/branches/${id}`, { token: f.tokens.admin, headers: { 'if-match': String(c.headers.etag) } })).statusCode, 204);
  assert.equal((await f.req('GET', `/api/v1/branches/${id}`, { token: f.tokens.admin })).statusCode, 404);
});

test('unknown API route is a problem 404; docs are served', { timeout: 10_000 }, async () => {
  const r = await f.req('GET', '/api/v1/nothing', { token: f.tokens.admin });
  assert.equal(r.statusCode, 404);
  assert.match(String(r.headers['content-type']), /problem\+json/);
  const doc = (await f.req('GET', '/api/docs/openapi.json')).json();
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/api/v1/machines/{mac}/boot-plan'].get);
  assert.ok(doc.paths['/api/v1/machines'].get.parameters.some((p: { name: string }) => p.name === 'cursor'));
  const html = await f.req('GET', '/api/docs');
  assert.match(html.body, /branchboot API v1/);
});
