// `image remove` on the CLI follows the API's rules: a version a machine is pinned to, or the
// image's pinned current one, stays (one line says who uses it); a removal is audited.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importImage } from '../../../src/store/importer.ts';
import { imageCommand } from '../../../src/cli/image.ts';
import { listVersions } from '../../../src/model/image-versions.ts';
import { cliEnv, makeHarness } from './harness.ts';

const h = makeHarness('remove-in-use');
after(async () => { await h.close(); });

test('image remove refuses a version in use and audits the one it removes', { timeout: 60_000 }, async () => {
  const file = path.join(h.dir, 'u.img');
  const env = { config: h.config, db: h.handle.db, log: h.log };
  for (const fill of [1, 2, 3]) {
    fs.writeFileSync(file, Buffer.alloc(300_000, fill));
    await importImage(env, { file, name: 'u' });
  }
  const db = h.handle.db;
  const now = Date.now();
  const { id: branchId } = await db.insertInto('branches').values({ name: 'b', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  const { id: imageId } = await db.selectFrom('images').select('id').where('name', '=', 'u').executeTakeFirstOrThrow();
  await db.insertInto('machines').values({ mac: '02:00:00:00:00:01', branch_id: branchId, state: 'registered', image_id: imageId, image_version: 1, created_at: now, updated_at: now }).execute();
  await db.updateTable('images').set({ current_version: 2 }).where('id', '=', imageId).execute();
  const cli = cliEnv(h);
  await assert.rejects(imageCommand(['remove', 'u@1'], cli), { message: 'image remove: u@1: version 1 is in use: 1 machine is pinned to it' });
  await assert.rejects(imageCommand(['remove', 'u@2'], cli), { message: /^image remove: u@2: version 2 is in use: it is the image's current version/ });
  assert.equal(await imageCommand(['remove', 'u@3'], cli), 0);
  assert.deepEqual((await listVersions(db, { name: 'u', includeRemoved: true })).map((v) => `${v.version}:${v.state}`), ['1:ready', '2:ready', '3:removed']);
  const row = await db.selectFrom('audit_log').selectAll().where('entity', '=', 'image_version').where('entity_id', '=', 'u@3').executeTakeFirstOrThrow();
  assert.deepEqual([row.actor, row.action], ['cli', 'delete']);
});
