// Two imports of one name at once, one a REST job in the server's process, the other the CLI in
// its own: consecutive version numbers, no gap, no collision, both ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';
import { listVersions } from '../../../src/model/image-versions.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../src/cli.ts', import.meta.url));

async function waitJob(f: Fixture, id: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 600; i++) {
    const j = (await f.req('GET', `/api/v1/imports/${id}`, { token: f.tokens.read })).json() as Record<string, unknown>;
    if (j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('import did not finish');
}

test('a REST import job and a CLI import of the same name at once', { timeout: 120_000 }, async () => {
  const f = await makeFixture({ users: false });
  try {
    fs.mkdirSync(path.join(f.dir, 'imports'));
    const file = path.join(f.dir, 'imports', 'race.img');
    fs.writeFileSync(file, randomBytes(6 << 20));
    const config = path.join(f.dir, 'config.yaml');
    fs.writeFileSync(config, `dataDir: ${JSON.stringify(f.dir)}\ndatabase: ${JSON.stringify(path.join(f.dir, 'bb.db'))}\nstore:\n  workers: 1\n`);
    for (let round = 0; round < 3; round++) {
      const [job, cli] = await Promise.all([
        f.req('POST', '/api/v1/images/race/imports', { token: f.tokens.admin, body: { path: file } }),
        run(process.execPath, ['--import', 'tsx', CLI, '--config', config, 'image', 'import', file, '--name', 'race', '--json']),
      ]);
      assert.equal(job.statusCode, 202, job.body);
      const done = await waitJob(f, (job.json() as { id: number }).id);
      assert.equal(done.state, 'done', String(done.error));
      assert.ok((JSON.parse(cli.stdout) as { version: number }).version > 0);
    }
    const versions = await listVersions(f.handle.db, { name: 'race' });
    assert.deepEqual(versions.map((v) => `${v.version}:${v.state}`), [1, 2, 3, 4, 5, 6].map((n) => `${n}:ready`));
  } finally {
    await f.close();
  }
});
