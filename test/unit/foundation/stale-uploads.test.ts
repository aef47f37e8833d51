import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { removeStaleUploads } from '../../../src/shutdown-imports.ts';
import { tempDir } from '../../helpers/cli.ts';

test('at start, uploads a killed serve left are removed, other files are not', () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'uploads'));
  fs.writeFileSync(path.join(dir, 'uploads', 'ubuntu.0a1b2c3d4e5f.upload'), 'x');
  fs.writeFileSync(path.join(dir, 'uploads', 'README'), 'keep');
  removeStaleUploads(dir, pino({ level: 'silent' }));
  assert.deepEqual(fs.readdirSync(path.join(dir, 'uploads')), ['README']);
  removeStaleUploads(path.join(dir, 'nowhere'), pino({ level: 'silent' }));
});
