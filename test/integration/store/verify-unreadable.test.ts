// `store verify --quarantine` moves away only chunks it read and found bad: one it could not read
// (an I/O error; here a folder in its place) is reported, and left where it is.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { decodeIndex, chunkId } from '../../../src/store/caibx.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { storeCommand } from '../../../src/cli/store.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { makeHarness } from './harness.ts';

const h = makeHarness('verify-unreadable');
after(async () => { await h.close(); });

test('an unreadable chunk is reported, not quarantined', { timeout: 60_000 }, async () => {
  const f = path.join(h.dir, 'u.img');
  fs.writeFileSync(f, randomBytes(2 << 20));
  const r = await importImage({ config: h.config, db: h.handle.db, log: h.log }, { file: f, name: 'u' });
  const hex = chunkId(decodeIndex(fs.readFileSync(path.join(h.config.store.path, r.indexFile))), 3).toString('hex');
  const file = chunkPath(h.config.store.path, hex);
  const saved = fs.readFileSync(file);
  fs.rmSync(file);
  fs.mkdirSync(file);
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => { text += d.toString(); });
  const env = { config: h.config, log: h.log, out, err: new PassThrough().resume(), openDb: () => openDatabase(h.config.database), interactive: false };
  assert.equal(await storeCommand(['verify', '--quarantine'], env), 1);
  assert.match(text, new RegExp(`^unreadable ${hex} \\(used by u@1\\): EISDIR`, 'm'));
  assert.doesNotMatch(text, /quarantined/);
  assert.ok(fs.statSync(file).isDirectory(), 'left where it was');
  assert.ok(!fs.existsSync(path.join(h.config.store.path, 'quarantine', `${hex}.cacnk`)));
  fs.rmdirSync(file);
  fs.writeFileSync(file, saved);
});
