// A provisioning script's mistakes come back as one readable line naming the field: patterns
// in words (not a regular expression to decode), a broken JSON body with where it broke, and an
// empty body with a JSON Content-Type is no body (routes like rollback take none).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { macFor, makeFixture, type Fixture } from './helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 2, users: false }); });
after(async () => { await f.close(); });

const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
  f.app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${f.tokens.admin}`, 'content-type': 'application/json', ...headers } });

test('a pattern failure says what the field must be, in words', async () => {
  for (const [body, field, words] of [
    [{ mac: '02:00:00:09:00:01', branchId: f.branchA, hostname: '<script>' }, 'hostname', /^hostname must be a hostname: letters, digits and -, up to 63 between dots$/],
    [{ mac: '02:00:00:09:00:01', branchId: f.branchA, ip: '10.1.0.300' }, 'ip', /^ip must be an IPv4 address like 10\.20\.0\.21$/],
    [{ mac: '02:00:00:09:00:01', branchId: f.branchA, image: 'a b' }, 'image', /^image must be letters, digits, \. _ - \(starting with a letter or digit\)$/],
    [{ mac: '02:00:00:09:00:01', branchId: '1' }, 'branchId', /^branchId must be an integer$/],
    [{ mac: '02:00:00:09:00:01', branchId: f.branchA, version: '2' }, 'version', /^version must be an integer or null$/],
  ] as [object, string, RegExp][]) {
    const r = await post('/api/v1/machines', JSON.stringify(body));
    assert.equal(r.statusCode, 400);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    assert.equal(r.json().field, field);
    assert.match(r.json().detail, words);
  }
});

test('the wrong kind of body is "the body must be a JSON object", without an empty field', async () => {
  for (const payload of ['[]', 'null', '"text"']) {
    const r = await post('/api/v1/machines', payload);
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().detail, 'the body must be a JSON object');
    assert.equal(r.json().field, undefined);
    assert.equal(r.json().in, 'body');
  }
});

test('broken JSON names where it broke; prototype keys are still refused', async () => {
  const r = await post('/api/v1/machines', '{"mac": "02:00:00:09:00:01", branchId: 1}');
  assert.equal(r.statusCode, 400);
  assert.match(r.json().detail, /^the body is not valid JSON: .*position \d+/);
  assert.equal(r.json().field, 'body');
  const proto = await post('/api/v1/machines', '{"mac":"02:00:00:09:00:01","branchId":1,"__proto__":{"admin":true}}');
  assert.equal(proto.statusCode, 400);
  assert.equal((await f.req('GET', '/api/v1/machines/02:00:00:09:00:01', { token: f.tokens.admin })).statusCode, 404);
});

test('an empty body with Content-Type: application/json is no body', async () => {
  const r = await post('/api/v1/images/ubuntu/rollback', '', { 'if-match': '*' });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().effectiveVersion, 1);
  const needsBody = await post('/api/v1/machines', '');
  assert.equal(needsBody.statusCode, 400);
  assert.equal(needsBody.json().detail, 'the body must be a JSON object');
  const ok = await post('/api/v1/machines/assign', JSON.stringify({ macs: [macFor(0, 0)], action: 'local' }));
  assert.equal(ok.statusCode, 200, ok.body);
});

test('lists and size limits read as sentences', async () => {
  const dup = await post('/api/v1/tokens', JSON.stringify({ name: 'twice', scopes: ['read', 'read'] }));
  assert.equal(dup.json().detail, 'scopes must not list the same value twice');
  const none = await post('/api/v1/tokens', JSON.stringify({ name: 'none', scopes: [] }));
  assert.equal(none.json().detail, 'scopes must list at least 1');
  const big = await post('/api/v1/machines/import', JSON.stringify({ machines: [], pad: 'x'.repeat(11 * 1024 * 1024) }));
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().detail, 'the body is larger than this route takes (10 MiB)');
});

test('a body of a type the route does not take says which types it takes', async () => {
  const r = await f.app.inject({ method: 'POST', url: '/api/v1/machines', payload: 'mac=02:00:00:09:00:01', headers: { authorization: `Bearer ${f.tokens.admin}`, 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(r.statusCode, 415);
  assert.match(r.json().detail, /^Content-Type application\/x-www-form-urlencoded is not taken here: send application\/json/);
  assert.equal(r.json().field, 'Content-Type');
});
