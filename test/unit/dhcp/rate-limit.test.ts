import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../../src/dhcp/rate-limit.ts';

test('a bucket allows its burst, then refills at its rate, in fractions of a token', () => {
  const l = new RateLimiter(10, 3);
  const t = 1_800_000_000_000;
  assert.deepEqual([1, 2, 3, 4].map(() => l.allow('a', t)), [true, true, true, false]);
  assert.equal(l.allow('a', t + 50), false, 'half a token after 50 ms');
  assert.equal(l.allow('a', t + 100), true, 'the two halves make one');
  assert.equal(l.allow('a', t + 100), false);
  assert.deepEqual([1, 2, 3, 4].map(() => l.allow('a', t + 10_000)), [true, true, true, false], 'refilled to the burst, no further');
  assert.equal(l.allow('b', t), true, 'keys are independent');
});

test('a clock that steps back does not take tokens away', () => {
  const l = new RateLimiter(1, 2);
  const t = 1_800_000_000_000;
  assert.equal(l.allow('a', t), true);
  assert.equal(l.allow('a', t - 60_000), true, 'the token left is still there');
  assert.equal(l.allow('a', t - 60_000), false);
  assert.equal(l.allow('a', t - 59_000), true, 'and refilling resumes from the new time');
});

test('the table forgets its oldest key when full', () => {
  const l = new RateLimiter(0, 1, 2);
  assert.equal(l.allow('a', 0), true);
  assert.equal(l.allow('a', 0), false);
  l.allow('b', 0);
  l.allow('c', 0);
  assert.equal(l.allow('a', 0), true, 'a was forgotten, so it starts from a full bucket');
});

test('thousands of keys: every bucket keeps its tokens as the table grows, and the oldest goes first once full', () => {
  const l = new RateLimiter(0, 2, 3000);
  for (let i = 0; i < 3000; i++) assert.equal(l.allow(`k${i}`, 0), true);
  // The table grew from 256 slots to 3,000 meanwhile: each key still has exactly one token left.
  for (let i = 0; i < 3000; i++) assert.equal(l.allow(`k${i}`, 0), true, `k${i}: its second token`);
  for (let i = 0; i < 3000; i += 500) assert.equal(l.allow(`k${i}`, 0), false, `k${i}: empty`);
  assert.equal(l.allow('new', 0), true, 'a new key when full');
  assert.equal(l.allow('k0', 0), true, 'k0, the oldest, was forgotten: a full bucket again');
  assert.equal(l.allow('k1000', 0), false, 'k1000 was not');
});
