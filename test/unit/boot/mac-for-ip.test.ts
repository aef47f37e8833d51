import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { insertBootEvents } from '../../../src/model/events.ts';
import { macForIp } from '../../../src/model/boot-queries.ts';
import { tempDir } from '../../helpers/cli.ts';

test('proxy mode: an address leased by another server is tied to the MAC that asked for its script from it', async () => {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try {
    const now = Date.now();
    assert.equal(await macForIp(h.db, '10.9.0.50', now), undefined);
    await insertBootEvents(h.db, [
      { at: now - 2 * 3_600_000, ip: '10.9.0.50', mac: '52:54:00:00:00:09', stage: 'http.script', detail: {} },
      { at: now - 1000, ip: '10.9.0.50', mac: null, stage: 'http.kernel', detail: {} },
    ]);
    assert.equal(await macForIp(h.db, '10.9.0.50', now), undefined, 'older than an hour does not count');
    await insertBootEvents(h.db, [{ at: now - 500, ip: '10.9.0.50', mac: '52:54:00:00:00:0a', stage: 'http.script', detail: {} }]);
    assert.equal(await macForIp(h.db, '10.9.0.50', now), '52:54:00:00:00:0a');
  } finally {
    await h.close();
  }
});
