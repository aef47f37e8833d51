// `branchboot export -o FILE` through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../../helpers/cli.ts';

test('export -o writes the file whole; a path it cannot write is one line, not a stack trace', async () => {
  const dir = tempDir();
  const env = { BRANCHBOOT_DATA_DIR: path.join(dir, 'var'), BRANCHBOOT_LOG_LEVEL: 'warn' };
  const out = path.join(dir, 'inventory.yaml');
  const ok = await runCli(['export', '-o', out], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(fs.readFileSync(out, 'utf8'), 'branches: []\nimages: []\nmachines: []\n');
  for (const [target, why] of [[path.join(dir, 'no-such-folder', 'x.yaml'), 'no such folder'], [dir, 'it is a folder']] as const) {
    const r = await runCli(['export', '--output', target], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `branchboot: export: cannot write ${target}: ${why}\n`);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['inventory.yaml', 'var'], 'no temp file left behind');
});
