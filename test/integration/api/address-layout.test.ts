// Subnets may not overlap and a fixed address must sit in a subnet of its machine's branch,
// whether the API, the console or an inventory file writes them: DHCP picks a subnet by first
// match, and a reservation outside every subnet is silently never handed out.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, macFor, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture(); });
after(async () => { await f.close(); });

test('a new branch whose subnet overlaps another branch\'s is 409, naming the subnet', { timeout: 10_000 }, async () => {
  // alpha is 10.1.0.0/16.
  const r = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body: { name: 'delta', subnets: [{ cidr: '10.9.0.0/24' }, { cidr: '10.1.4.0/24' }] } });
  assert.equal(r.statusCode, 409, r.body);
  assert.equal(r.json().field, 'subnets[1].cidr');
  assert.match(r.json().detail, /10\.1\.4\.0\/24 overlaps 10\.1\.0\.0\/16 of branch alpha/);
  const inside = await f.req('POST', '/api/v1/branches', { token: f.tokens.admin, body: { name: 'delta', subnets: [{ cidr: '10.9.0.0/24' }, { cidr: '10.9.0.128/25' }] } });
  assert.equal(inside.statusCode, 400, 'overlap inside one branch: the body itself is wrong');
  assert.equal(inside.json().field, 'subnets[1].cidr');
  assert.match(inside.json().detail, /10\.9\.0\.128\/25 overlaps 10\.9\.0\.0\/24 of this branch/);
});

test('a fixed address outside the machine\'s branch is 400 on ip; moving it to a branch where it does not fit is 400 on branchId', { timeout: 10_000 }, async () => {
  const url = `/api/v1/machines/${macFor(0, 1)}`;
  const out = await f.req('PATCH', url, { token: f.tokens.admin, body: { ip: '10.2.0.9' }, headers: { 'if-match': '*' } });
  assert.equal(out.statusCode, 400, out.body);
  assert.equal(out.json().field, 'ip');
  assert.match(out.json().detail, /10\.2\.0\.9 is not inside a subnet of branch alpha \(its subnets: 10\.1\.0\.0\/16\)/);
  const net = await f.req('PATCH', url, { token: f.tokens.admin, body: { ip: '10.1.0.0' }, headers: { 'if-match': '*' } });
  assert.equal(net.statusCode, 400);
  assert.match(net.json().detail, /network address of 10\.1\.0\.0\/16/);
  assert.equal((await f.req('PATCH', url, { token: f.tokens.admin, body: { ip: '10.1.0.9' }, headers: { 'if-match': '*' } })).statusCode, 200);
  const move = await f.req('PATCH', url, { token: f.tokens.admin, body: { branchId: f.branchB }, headers: { 'if-match': '*' } });
  assert.equal(move.statusCode, 400, move.body);
  assert.equal(move.json().field, 'branchId');
  const both = await f.req('PATCH', url, { token: f.tokens.admin, body: { branchId: f.branchB, ip: '10.2.0.9' }, headers: { 'if-match': '*' } });
  assert.equal(both.statusCode, 200, both.body);
});

test('changing a branch\'s subnets so a machine\'s fixed address falls outside is 409', { timeout: 10_000 }, async () => {
  const url = `/api/v1/machines/${macFor(0, 2)}`;
  assert.equal((await f.req('PATCH', url, { token: f.tokens.admin, body: { ip: '10.1.200.7' }, headers: { 'if-match': '*' } })).statusCode, 200);
  const r = await f.req('PATCH', `/api/v1/branches/${f.branchA}`, { token: f.tokens.admin, body: { subnets: [{ cidr: '10.1.0.0/24' }] }, headers: { 'if-match': '*' } });
  assert.equal(r.statusCode, 409, r.body);
  assert.equal(r.json().field, 'subnets');
  assert.match(r.json().detail, new RegExp(`machine ${macFor(0, 2)} has a fixed address: 10\\.1\\.200\\.7 is not inside`));
});
