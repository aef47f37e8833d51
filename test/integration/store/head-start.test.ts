// `image import` through the real CLI starts chunking before its database opens (cli/main.ts's
// warmers, store/import-root.ts). When the command then fails before taking that start over,
// the chunking must stop: its worker threads would otherwise keep the process alive for ever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, tempDir } from '../../helpers/cli.ts';

test('a database that cannot open stops the early chunking: one line, exit 1, no index', async () => {
  const dir = tempDir('bb-head-');
  const image = path.join(dir, 'big.img');
  // Incompressible and larger than the pool's blocks: the reader is still waiting for a free block.
  fs.writeFileSync(image, randomBytes(48 << 20));
  fs.mkdirSync(path.join(dir, 'db-is-a-folder'));
  const t0 = Date.now();
  const r = await runCli(['image', 'import', image, '--name', 'early'], {
    env: { BRANCHBOOT_DATA_DIR: path.join(dir, 'data'), BRANCHBOOT_DATABASE: path.join(dir, 'db-is-a-folder'), BRANCHBOOT_LOG_LEVEL: 'warn' },
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^branchboot: database .*db-is-a-folder: cannot be opened/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
  assert.equal(fs.existsSync(path.join(dir, 'data', 'store', 'indexes')), false);
});

test('arguments the command refuses start nothing: the refusal is the only line', async () => {
  const dir = tempDir('bb-head-');
  const r = await runCli(['image', 'import', path.join(dir, 'missing.img'), '--name', 'x', '--kernel', 'k'], {
    env: { BRANCHBOOT_DATA_DIR: path.join(dir, 'data'), BRANCHBOOT_LOG_LEVEL: 'warn' },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'branchboot: image import: give --kernel and --initrd together\n');
  assert.equal(fs.existsSync(path.join(dir, 'data', 'store')), false);
});
