import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRange } from '../../../src/store/range.ts';

test('Range decisions', () => {
  const S = 1000;
  assert.deepEqual(decideRange(undefined, S), { kind: 'full' });
  assert.deepEqual(decideRange('bytes=0-0', S), { kind: 'single', start: 0, end: 0 });
  assert.deepEqual(decideRange('bytes=999-999', S), { kind: 'single', start: 999, end: 999 });
  assert.deepEqual(decideRange('bytes=10-20', S), { kind: 'single', start: 10, end: 20 });
  assert.deepEqual(decideRange('bytes=-100', S), { kind: 'single', start: 900, end: 999 });
  assert.deepEqual(decideRange('bytes=-5000', S), { kind: 'single', start: 0, end: 999 });
  assert.deepEqual(decideRange('bytes=990-5000', S), { kind: 'single', start: 990, end: 999 });
  assert.deepEqual(decideRange('bytes=500-', S), { kind: 'single', start: 500, end: 999 });
  assert.deepEqual(decideRange('items=0-1', S), { kind: 'full' });
  assert.equal(decideRange('bytes=1000-', S).kind, 'unsatisfiable');
  assert.equal(decideRange('bytes=5000-6000', S).kind, 'unsatisfiable');
  assert.equal(decideRange('bytes=-0', S).kind, 'unsatisfiable');
  assert.match((decideRange('bytes=20-10', S) as { reason: string }).reason, /reversed/);
  assert.match((decideRange('bytes=abc', S) as { reason: string }).reason, /malformed/);
  assert.match((decideRange('garbage', S) as { reason: string }).reason, /malformed/);
  assert.equal(decideRange('bytes=', S).kind, 'unsatisfiable');
  assert.deepEqual(decideRange('bytes=0-1,5-9', S), { kind: 'multi', ranges: [{ start: 0, end: 1 }, { start: 5, end: 9 }] });
  assert.deepEqual(decideRange('bytes=0-1,5000-6000', S), { kind: 'single', start: 0, end: 1 });
  assert.equal(decideRange(Array.from({ length: 17 }, (_, i) => `${i}-${i}`).join(',').replace(/^/, 'bytes='), S).kind, 'unsatisfiable');
});

test('Range fuzz: never throws, results stay inside the body', () => {
  let s = 7;
  const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  const alphabet = 'bytes=0123456789-, ;x';
  for (let i = 0; i < 100_000; i++) {
    const size = rnd(5000);
    const h = Array.from({ length: rnd(24) }, () => alphabet[rnd(alphabet.length)]).join('');
    const d = decideRange(i % 2 ? `bytes=${h}` : h, size);
    const ranges = d.kind === 'single' ? [d] : d.kind === 'multi' ? d.ranges : [];
    for (const r of ranges) assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, `${h} → ${JSON.stringify(d)}`);
  }
});
