// /healthz's path checks must answer while a mount hangs, and must not pile up hung calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounded } from '../../../src/util/writable.ts';

test('a check that hangs is reported after the limit, and not started again while it hangs', async () => {
  let started = 0;
  let release!: () => void;
  const hang = () => {
    started++;
    return new Promise<undefined>((r) => { release = () => r(undefined); });
  };
  const t0 = Date.now();
  assert.equal(await bounded('k', hang, 50), 'did not answer within 0.05 s (a hung mount?)');
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(await bounded('k', hang, 50), 'did not answer within 0.05 s (a hung mount?)');
  assert.equal(started, 1, 'a second stat(2) queued behind the hung one');
  release();
  await new Promise((r) => setImmediate(r));
  // Once it answered, the next poll asks again.
  assert.equal(await bounded('k', async () => { started++; return undefined; }, 50), undefined);
  assert.equal(started, 2);
});

test('a failing check says what failed, in words', async () => {
  const enoent = Object.assign(new Error('x'), { code: 'ENOENT' });
  assert.equal(await bounded('e', () => Promise.reject(enoent)), 'is missing');
});
