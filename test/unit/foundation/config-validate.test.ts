// The configuration is validated by generated code (src/config-validate-gen.ts); it must be the
// code for the schema as it is now.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { GENERATED_FILE, generateConfigValidator } from '../../../src/config-validate-gen.ts';

test('config-validate.generated.ts is up to date with config-schema.ts', () => {
  assert.equal(fs.readFileSync(GENERATED_FILE, 'utf8'), generateConfigValidator(),
    'stale: run node --import tsx src/config-validate-gen.ts --write');
});
