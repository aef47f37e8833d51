import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { lockDataDir } from '../../../src/data-dir-lock.ts';
import { ROOT, tempDir } from '../../helpers/cli.ts';

test('a second lock on the same dataDir is refused in one line; released, it can be taken again', () => {
  const dir = tempDir();
  const first = lockDataDir(dir);
  assert.throws(() => lockDataDir(dir), (err: Error) =>
    err.message.includes(`dataDir ${dir} is in use by another branchboot serve (pid ${process.pid})`) && !err.message.includes('\n'));
  first.release();
  lockDataDir(dir).release();
});

test('a lock held by a process killed with SIGKILL is free at once (no stale lock)', async () => {
  const dir = tempDir();
  const script = `import { lockDataDir } from ${JSON.stringify(path.join(ROOT, 'src/data-dir-lock.ts'))};
    lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); }));
  assert.throws(() => lockDataDir(dir), new RegExp(`in use by another branchboot serve \\(pid ${child.pid}\\)`));
  const gone = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await gone;
  lockDataDir(dir).release();
});
