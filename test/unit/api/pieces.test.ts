// Small pieces of the API and console: login limiter, cookies, CSV, cursors, hostname
// patterns, problem field paths, assignment form parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from '../../../src/http/ui/login-limit.ts';
import { parseCookies, serializeCookie } from '../../../src/http/api/cookies.ts';
import { fieldOf } from '../../../src/http/api/problem.ts';
import { parseCsv, csvToMachineSpecs } from '../../../src/model/machine-import.ts';
import { decodeCursor, encodeCursor } from '../../../src/model/pagination.ts';
import { expandHostname } from '../../../src/model/machine-admin.ts';
import { parseAssignment } from '../../../src/http/ui/branch.ts';
import { parseForm } from '../../../src/http/ui/forms.ts';

test('login limiter: 5 free failures, then a lock that doubles, per IP+user; success clears', () => {
  let now = 1_000_000;
  const l = new LoginLimiter(() => now);
  for (let i = 0; i < 4; i++) l.failed('1.2.3.4', 'Bob');
  assert.equal(l.retryAfter('1.2.3.4', 'bob'), 0);
  l.failed('1.2.3.4', 'bob');
  assert.equal(l.retryAfter('1.2.3.4', 'BOB'), 1000);
  assert.equal(l.retryAfter('5.6.7.8', 'bob'), 0, 'another address is not locked');
  assert.equal(l.retryAfter('1.2.3.4', 'alice'), 0, 'another user is not locked');
  now += 1000;
  l.failed('1.2.3.4', 'bob');
  assert.equal(l.retryAfter('1.2.3.4', 'bob'), 2000);
  for (let i = 0; i < 20; i++) l.failed('1.2.3.4', 'bob');
  assert.equal(l.retryAfter('1.2.3.4', 'bob'), 15 * 60_000, 'capped at 15 minutes');
  now += 15 * 60_000;
  l.succeeded('1.2.3.4', 'bob');
  assert.equal(l.retryAfter('1.2.3.4', 'bob'), 0);
});

test('login limiter: one address trying many users is locked as a whole', () => {
  const now = 5_000_000;
  const l = new LoginLimiter(() => now);
  for (let i = 0; i < 30; i++) l.failed('9.9.9.9', `user${i}`);
  assert.ok(l.retryAfter('9.9.9.9', 'someone-else') > 0);
});

test('cookies: parse pairs (first wins, quotes, bad escapes) and write Strict HttpOnly ones', () => {
  const c = parseCookies('a=1; b="two"; a=3; bad=%E0%A4%A; =x; c');
  assert.equal(c.get('a'), '1');
  assert.equal(c.get('b'), 'two');
  assert.equal(c.get('bad'), '%E0%A4%A');
  assert.equal(c.has('c'), false);
  assert.equal(serializeCookie('s', 'v v', { secure: true, maxAgeS: 10 }), 's=v%20v; Path=/; SameSite=Strict; HttpOnly; Secure; Max-Age=10');
});

test('problem fields: ajv paths become dotted names with indexes', () => {
  assert.equal(fieldOf({ instancePath: '/subnets/0/cidr', keyword: 'pattern', params: {} }), 'subnets[0].cidr');
  assert.equal(fieldOf({ instancePath: '/machines/2', keyword: 'required', params: { missingProperty: 'mac' } }), 'machines[2].mac');
  assert.equal(fieldOf({ instancePath: '', keyword: 'additionalProperties', params: { additionalProperty: 'nmae' } }), 'nmae');
});

test('CSV: quotes, escaped quotes, CRLF, blank lines; unknown columns are named', () => {
  assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n\n1,2'), [['a', 'b'], ['x, y', 'say "hi"'], ['1', '2']]);
  assert.deepEqual(csvToMachineSpecs('\uFEFFmac,branch,hostname\n02:00:00:00:00:01,alpha,\n'), [{ mac: '02:00:00:00:00:01', branch: 'alpha' }]);
  assert.throws(() => csvToMachineSpecs('mac,branch,colour\n'), (e: Error & { field?: string }) => e.field === 'columns[2]');
  assert.throws(() => csvToMachineSpecs('hostname\n'), (e: Error & { field?: string }) => e.field === 'columns');
});

test('cursors round-trip and reject anything else', () => {
  for (const c of [{ v: 'pc-1', id: 3 }, { v: 0, id: 9 }, { v: null, id: 1 }]) assert.deepEqual(decodeCursor(encodeCursor(c)), c);
  for (const bad of ['', 'x', Buffer.from('[1]').toString('base64url'), Buffer.from('[{},1]').toString('base64url'), Buffer.from('["a",1.5]').toString('base64url')]) {
    assert.equal(decodeCursor(bad), undefined, bad);
  }
});

test('hostname patterns: {n} and zero padding', () => {
  assert.equal(expandHostname('lab-{n}', 7), 'lab-7');
  assert.equal(expandHostname('lab-{n:03}-{n}', 7), 'lab-007-7');
  assert.equal(expandHostname('plain', 7), 'plain');
});

test('assign form: leave / clear / set for image, version and action', () => {
  const f = (s: string) => parseForm(s);
  assert.deepEqual(parseAssignment(f('image=debian&version=&action=')), { image: 'debian', version: null });
  assert.deepEqual(parseAssignment(f('image=debian&version=3&action=once')), { image: 'debian', version: 3, action: 'once' });
  assert.deepEqual(parseAssignment(f('image=-&action=-')), { image: null, action: null });
  assert.throws(() => parseAssignment(f('image=&action=')), /Choose/);
  assert.throws(() => parseAssignment(f('image=x&version=1.5')), /whole number/);
  assert.throws(() => parseAssignment(f('action=reboot')), /Unknown boot action/);
});
