// A store folder that is not there (wrong store.path, a file system not mounted) or an index that
// is gone: verify and gc say so in one line, gc removes nothing; a new installation is fine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { storeCommand } from '../../../src/cli/store.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { UserError } from '../../../src/util/errors.ts';
import type { Config } from '../../../src/config.ts';
import type { CliEnv } from '../../../src/cli/types.ts';
import { makeHarness } from './harness.ts';

const h = makeHarness('missing');
after(async () => { await h.close(); });

const cli = (config: Config): CliEnv & { text: () => string } => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => { text += d.toString(); });
  return { config, log: h.log, out, err: new PassThrough().resume(), openDb: () => openDatabase(config.database), interactive: false, text: () => text };
};
const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');

test('no store yet and no images: verify and gc are content', async () => {
  assert.ok(!fs.existsSync(h.config.store.path));
  assert.equal(await storeCommand(['verify'], cli(h.config)), 0);
  assert.equal(await storeCommand(['gc', '--grace', '0'], cli(h.config)), 0);
});

test('store folder missing, then an index missing: one line each, nothing removed', async () => {
  const f = path.join(h.dir, 'a.img');
  fs.writeFileSync(f, randomBytes(1 << 20));
  const r = await importImage({ config: h.config, db: h.handle.db, log: h.log }, { file: f, name: 'a' });
  const elsewhere: Config = { ...h.config, store: { ...h.config.store, path: path.join(h.dir, 'not mounted') } };
  await assert.rejects(storeCommand(['verify'], cli(elsewhere)), userError(/^store verify: the store .*not mounted does not exist/));
  await assert.rejects(storeCommand(['gc', '--grace', '0'], cli(elsewhere)), userError(/^store gc: the store .*not mounted does not exist/));

  const chunksBefore = fs.readdirSync(path.join(h.config.store.path, 'default.castr')).length;
  fs.rmSync(path.join(h.config.store.path, r.indexFile));
  await assert.rejects(storeCommand(['gc', '--grace', '0'], cli(h.config)), userError(/^store gc: gc refused: an index cannot be read.*a@1/));
  assert.equal(fs.readdirSync(path.join(h.config.store.path, 'default.castr')).length, chunksBefore);
});
