// `apply --prune` keeps an image that has imported versions (removing those is `image remove`'s
// business). The dry run listed it as "- image X" and the apply then kept it, counting it among
// the changes made: a dry run must say what the apply will do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { parseInventory } from '../../../src/model/inventory/parse.ts';
import { applyInventory } from '../../../src/model/inventory/apply.ts';
import { formatDiff } from '../../../src/model/inventory/diff.ts';
import { createVersion } from '../../../src/model/image-versions.ts';
import { tempDir } from '../../helpers/cli.ts';

test('--prune: an image with versions is reported kept, in the dry run as in the apply, and not counted as a change', async () => {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try {
    await applyInventory(h.db, parseInventory('images:\n  - name: old-lab\n  - name: empty\n  - name: new-lab\n'));
    await createVersion(h.db, { name: 'old-lab', flavor: 'live-boot', source: '/x', rootKind: 'squashfs', rootFile: 'filesystem.squashfs', chunker: 'cdc' });
    const smaller = parseInventory('images:\n  - name: new-lab\n');
    const dry = await applyInventory(h.db, smaller, { prune: true, dryRun: true });
    const real = await applyInventory(h.db, smaller, { prune: true });
    for (const r of [dry, real]) {
      assert.deepEqual(formatDiff(r.diff), ['- image empty']);
      assert.deepEqual(r.kept, ['image old-lab (has 1 imported version; remove it first)']);
    }
    const names = (await h.db.selectFrom('images').select('name').orderBy('name').execute()).map((r) => r.name);
    assert.deepEqual(names, ['new-lab', 'old-lab']);
  } finally {
    await h.close();
  }
});
