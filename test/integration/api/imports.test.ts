// Import jobs through the API run the store's importer in the background: progress on the
// job and live on /api/v1/imports/stream, a ready version with new and shared bytes, an audit
// row; a second import of the same bytes adds no new bytes.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

async function waitJob(f: Fixture, id: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const j = (await f.req('GET', `/api/v1/imports/${id}`, { token: f.tokens.read })).json() as Record<string, unknown>;
    if (j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('import did not finish');
}

test('import a raw image twice from a server path; progress is streamed live', { timeout: 60_000 }, async () => {
  const f = await makeFixture({ users: false });
  const ac = new AbortController();
  try {
    fs.mkdirSync(path.join(f.dir, 'imports'));
    const file = path.join(f.dir, 'imports', 'disk.raw');
    // 3 MiB of compressible but not constant data.
    const buf = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE((i * 2654435761) >>> 8 & 0xffff, i);
    fs.writeFileSync(file, buf);
    const base = await f.app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${base}/api/v1/imports/stream`, { headers: { authorization: `Bearer ${f.tokens.read}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    let streamed = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        streamed += Buffer.from(value).toString();
        if (/"state":"done"/.test(streamed)) return;
      }
    })().catch(() => {});

    // Only files inside store.importRoots (default <dataDir>/imports), symlinks resolved.
    fs.writeFileSync(path.join(f.dir, 'outside.raw'), 'x');
    fs.symlinkSync(path.join(f.dir, 'outside.raw'), path.join(f.dir, 'imports', 'link.raw'));
    // A missing file outside says the same as a present one: no probing for files elsewhere.
    for (const p of [path.join(f.dir, 'outside.raw'), path.join(f.dir, 'imports', 'link.raw'), path.join(f.dir, 'no-such.raw'), '/no/such/dir/x.raw']) {
      const r = await f.req('POST', '/api/v1/images/labdisk/imports', { token: f.tokens.admin, body: { path: p } });
      assert.equal(r.statusCode, 400, r.body);
      assert.match(r.json().detail ?? r.body, /outside the import folders/);
    }
    const missing = await f.req('POST', '/api/v1/images/labdisk/imports', { token: f.tokens.admin, body: { path: path.join(f.dir, 'imports', 'typo.raw') } });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().detail, /typo\.raw is not a file on the server/, 'inside the folders a typo is named as such');
    const start = await f.req('POST', '/api/v1/images/labdisk/imports', { token: f.tokens.admin, body: { path: file } });
    assert.equal(start.statusCode, 202, start.body);
    assert.match(String(start.headers.location), /^\/api\/v1\/imports\/\d+$/);
    const job = await waitJob(f, start.json().id);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.version, 1);
    // The stream's "done" may trail the job's on a loaded machine: a deadline for it, not a 5 s guess.
    await Promise.race([reading, new Promise((r) => setTimeout(r, 20_000))]);
    assert.match(streamed, /event: import\ndata: .*"name":"labdisk"/);
    assert.match(streamed, /"state":"done"/);

    const second = await waitJob(f, (await f.req('POST', '/api/v1/images/labdisk/imports', { token: f.tokens.admin, body: { path: file } })).json().id);
    assert.equal(second.state, 'done');
    const img = (await f.req('GET', '/api/v1/images/labdisk', { token: f.tokens.read })).json();
    assert.deepEqual(img.versions.map((v: { version: number; state: string }) => [v.version, v.state]), [[1, 'ready'], [2, 'ready']]);
    assert.equal(img.versions[0].sizeBytes, buf.length);
    assert.ok(img.versions[0].bytesNew > 0);
    assert.equal(img.versions[1].bytesNew, 0, 'the same bytes again add nothing');
    assert.equal(img.versions[1].bytesShared, img.versions[1].bytesStored);
    assert.equal(img.effectiveVersion, 2);
    const audit = (await f.req('GET', '/api/v1/audit?entity=image_version', { token: f.tokens.admin })).json().items;
    assert.deepEqual(audit.map((a: { entityId: string; actor: string }) => [a.entityId, a.actor]), [['labdisk@2', 'token:t-admin'], ['labdisk@1', 'token:t-admin']]);
    const jobs = (await f.req('GET', '/api/v1/imports', { token: f.tokens.read })).json().items;
    assert.equal(jobs.length, 2);

    // The same bytes uploaded instead of read from a server path.
    const up = (body: Buffer, token: string) => f.app.inject({ method: 'POST', url: '/api/v1/images/labdisk/upload', payload: body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
    assert.equal((await up(buf, f.tokens.writeA)).statusCode, 403);
    const empty = await up(Buffer.alloc(0), f.tokens.admin);
    assert.equal(empty.statusCode, 400, empty.body);
    assert.match(empty.json().detail, /the upload is empty/);
    assert.deepEqual(fs.readdirSync(path.join(f.dir, 'uploads')), [], 'nothing is left of an empty upload');
    const u = await up(buf, f.tokens.admin);
    assert.equal(u.statusCode, 202, u.body);
    const uj = await waitJob(f, u.json().id);
    assert.equal(uj.state, 'done', JSON.stringify(uj));
    assert.equal(uj.version, 3);
    assert.deepEqual(fs.readdirSync(path.join(f.dir, 'uploads')), [], 'the uploaded file is removed after the import');
  } finally {
    ac.abort();
    await f.close();
  }
});
