// ByteQueue: exact takes across segment boundaries, skips, and many tiny segments staying cheap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteQueue } from '../../../src/nbd/byte-queue.ts';

test('take and skip across segments give the bytes in order', () => {
  const q = new ByteQueue();
  const all = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
  for (let p = 0, k = 1; p < all.length; p += k, k = (k * 7) % 13 + 1) q.push(all.subarray(p, p + k));
  assert.equal(q.length, 1000);
  assert.deepEqual(q.take(3), all.subarray(0, 3));
  assert.equal(q.skip(100), 100);
  assert.deepEqual(q.take(500), all.subarray(103, 603));
  assert.equal(q.skip(10_000), 397);
  assert.equal(q.length, 0);
  assert.throws(() => q.take(1), RangeError);
});

test('a million one-byte segments are consumed in linear time', () => {
  const q = new ByteQueue();
  const one = Buffer.from([0x25]);
  // CPU time, not wall time: other sessions' load on the shared CI machine stretches the wall
  // clock, not the work. Linear is ~0.1 s here; quadratic would be minutes.
  const t0 = process.cpuUsage();
  for (let i = 0; i < 1_000_000; i++) q.push(one);
  let n = 0;
  while (q.length >= 28) { q.take(28); n++; }
  assert.equal(n, Math.floor(1_000_000 / 28));
  const cpu = process.cpuUsage(t0);
  assert.ok((cpu.user + cpu.system) / 1000 < 5000, `${Math.round((cpu.user + cpu.system) / 1000)} ms of CPU`);
});
