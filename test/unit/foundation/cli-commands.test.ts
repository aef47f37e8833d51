import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractConfigFlag, resolveCommand } from '../../../src/cli/main.ts';

test('every command the usage names resolves to a function, lazily loaded ones included', async () => {
  for (const name of ['serve', 'migrate', 'apply', 'export', 'admin', 'token', 'image', 'store', 'plan']) {
    assert.equal(typeof await resolveCommand(name), 'function', name);
  }
  assert.equal(await resolveCommand('nope'), undefined);
});

test('--config is taken from anywhere on the line', () => {
  assert.deepEqual(extractConfigFlag(['apply', 'x.yaml', '--config', 'c.yaml', '--dry-run']), { file: 'c.yaml', rest: ['apply', 'x.yaml', '--dry-run'] });
  assert.deepEqual(extractConfigFlag(['--config=c.yaml', 'serve']), { file: 'c.yaml', rest: ['serve'] });
});
