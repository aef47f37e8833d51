// makeDirs ends where Node's recursive mkdir loops forever (a parent that exists but cannot
// hold folders, as under /proc), and otherwise behaves like mkdir -p.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs, makeDirsSync } from '../../../src/util/make-dirs.ts';
import { tempDir } from '../../helpers/cli.ts';

test('creates missing parents, accepts an existing folder, refuses a file in the way', async () => {
  const d = tempDir();
  await makeDirs(path.join(d, 'a/b/c'), 0o750);
  assert.ok(fs.statSync(path.join(d, 'a/b/c')).isDirectory());
  await makeDirs(path.join(d, 'a/b/c'));
  makeDirsSync(path.join(d, 'a/b/d'));
  assert.ok(fs.statSync(path.join(d, 'a/b/d')).isDirectory());
  fs.writeFileSync(path.join(d, 'file'), '');
  await assert.rejects(makeDirs(path.join(d, 'file')), { code: 'ENOTDIR', message: /is not a folder/ });
  await assert.rejects(makeDirs(path.join(d, 'file/x/y')), { code: 'ENOTDIR' });
  assert.throws(() => makeDirsSync(path.join(d, 'file/x')), { code: 'ENOTDIR' });
});

test('under /proc: an error, not an endless loop', { timeout: 5000 }, async () => {
  await assert.rejects(makeDirs('/proc/branchboot-test/store'), { code: 'ENOENT', message: /cannot create folder \/proc\/branchboot-test: its parent folder cannot hold folders/ });
  assert.throws(() => makeDirsSync('/proc/branchboot-test/db'), { code: 'ENOENT' });
  assert.equal(fs.existsSync('/proc/branchboot-test'), false);
});

test('a dangling symlink on the way is an error', async () => {
  const d = tempDir();
  fs.symlinkSync(path.join(d, 'not-mounted'), path.join(d, 'disk'));
  await assert.rejects(makeDirs(path.join(d, 'disk/store')));
  assert.equal(fs.existsSync(path.join(d, 'not-mounted')), false);
});
