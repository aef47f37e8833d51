import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.ts';

test('a log call with its own "name" does not write a second "name" key over branchboot\'s', () => {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const log = createLogger({ log: { level: 'info' } } as never, dest);
  log.child({ image: 'ubuntu' }).info({ name: 'ubuntu', bytes: 5 }, 'import finished');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.match(/"name":/g)?.length, 1, lines[0]);
  const o = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(o.name, 'branchboot');
  assert.equal(o.objectName, 'ubuntu');
  assert.equal(o.bytes, 5);
});
