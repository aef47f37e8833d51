import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count } from '../../../src/util/words.ts';

test('count: singular for one, plural otherwise, irregular plurals by hand', () => {
  assert.equal(count(1, 'machine'), '1 machine');
  assert.equal(count(0, 'machine'), '0 machines');
  assert.equal(count(13, 'machine'), '13 machines');
  assert.equal(count(2, 'index', 'indexes'), '2 indexes');
});
