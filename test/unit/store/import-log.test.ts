// The import's log lines are JSON a log shipper parses: no key twice (the child logger names the
// image and version, and "import finished" repeated them from the result).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { importImage } from '../../../src/store/importer.ts';
import { makeHarness } from '../../integration/store/harness.ts';

const h = makeHarness('import-log');
after(async () => { await h.close(); });

test('"import started" and "import finished" name each key once', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done(); } });
  const log = pino({ level: 'info' }, sink);
  const file = path.join(h.dir, 'x.img');
  fs.writeFileSync(file, randomBytes(300_000));
  await importImage({ config: h.config, db: h.handle.db, log }, { file, name: 'x' });
  const mine = lines.filter((l) => /"msg":"import (started|finished)"/.test(l));
  assert.equal(mine.length, 2);
  for (const line of mine) {
    const keys = [...line.matchAll(/"([A-Za-z]+)":/g)].map((m) => m[1]!);
    assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], line);
    assert.match(line, /"image":"x","version":1/);
  }
});
