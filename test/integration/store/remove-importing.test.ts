// `image remove` of a version still importing is refused (as the API does): the import would mark
// it ready when it ends and the removed version would come back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { imageCommand } from '../../../src/cli/image.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { listVersions } from '../../../src/model/image-versions.ts';
import { UserError } from '../../../src/util/errors.ts';
import { makeHarness } from './harness.ts';

const h = makeHarness('remove-importing');
after(async () => { await h.close(); });

test('image remove NAME@V while V is importing: refused, and V ends ready', { timeout: 60_000 }, async () => {
  const file = path.join(h.dir, 'i.img');
  fs.writeFileSync(file, randomBytes(24 << 20));
  const cliEnv = { config: h.config, log: h.log, out: new PassThrough().resume(), err: new PassThrough().resume(), openDb: () => openDatabase(h.config.database), interactive: false };
  let removal: Promise<unknown> | undefined;
  await importImage({ config: h.config, db: h.handle.db, log: h.log }, {
    file, name: 'i',
    onProgress: (p) => { if (p.phase === 'root') removal ??= imageCommand(['remove', 'i@1'], cliEnv).then(() => undefined, (e: unknown) => e); },
  });
  const err = await removal;
  assert.ok(err instanceof UserError, `refused, not ${String(err)}`);
  assert.match(err.message, /^image remove: i@1 is still importing/);
  assert.deepEqual((await listVersions(h.handle.db, { name: 'i', includeRemoved: true })).map((v) => v.state), ['ready']);
});
