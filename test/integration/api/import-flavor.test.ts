// An update imported through the API, the console or the CLI without a flavor stays the
// flavor the image was declared with, so the machines following "current" keep booting.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';
import { until } from '../../helpers/until.ts';
import { importImage } from '../../../src/store/importer.ts';

async function importAndWait(f: Fixture, name: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const start = await f.req('POST', `/api/v1/images/${name}/imports`, { token: f.tokens.admin, body });
  assert.equal(start.statusCode, 202, start.body);
  let job: Record<string, unknown> = {};
  await until(async () => {
    job = (await f.req('GET', `/api/v1/imports/${start.json().id}`, { token: f.tokens.read })).json() as Record<string, unknown>;
    return job.state !== 'running';
  }, 'the import job to end', { timeoutMs: 30_000, everyMs: 50 });
  assert.equal(job.state, 'done', JSON.stringify(job));
  return job;
}

test('a version imported without a flavor takes the image\'s declared one; a named flavor still wins', { timeout: 60_000 }, async () => {
  const f = await makeFixture({ users: false });
  try {
    const dir = path.join(f.dir, 'imports');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'root.raw');
    fs.writeFileSync(file, Buffer.alloc(256 * 1024, 7));
    // "ubuntu" is declared live-boot in the fixture, with versions 1 and 2.
    const job = await importAndWait(f, 'ubuntu', { path: file });
    const img = (await f.req('GET', '/api/v1/images/ubuntu', { token: f.tokens.read })).json() as { flavor: string; versions: { version: number; flavor: string | null }[] };
    const v = img.versions.find((x) => x.version === job.version)!;
    assert.equal(v.flavor ?? img.flavor, 'live-boot');
    // Named explicitly, the caller's flavor is kept.
    const named = await importAndWait(f, 'ubuntu', { path: file, flavor: 'dracut' });
    const again = (await f.req('GET', '/api/v1/images/ubuntu', { token: f.tokens.read })).json() as typeof img;
    assert.equal(again.versions.find((x) => x.version === named.version)!.flavor, 'dracut');
    // A name no image has yet: the importer decides, as before.
    const fresh = await importAndWait(f, 'newdisk', { path: file });
    const nd = (await f.req('GET', '/api/v1/images/newdisk', { token: f.tokens.read })).json() as typeof img;
    assert.equal(nd.versions.find((x) => x.version === fresh.version)!.flavor, 'custom');
  } finally {
    await f.close();
  }
});

test('the same for `branchboot image import` (the importer itself): an ext4 update of a dracut image stays dracut', { timeout: 60_000 }, async () => {
  const f = await makeFixture({ users: false });
  try {
    const file = path.join(f.dir, 'root.raw');
    fs.writeFileSync(file, Buffer.alloc(128 * 1024, 3));
    await f.ctx.db.insertInto('images').values({ name: 'labdracut', flavor: 'dracut', created_at: 1, updated_at: 1 }).execute();
    const r = await importImage({ config: f.ctx.config, db: f.ctx.db, log: f.ctx.log }, { file, name: 'labdracut' });
    assert.equal(r.flavor, 'dracut');
  } finally {
    await f.close();
  }
});
