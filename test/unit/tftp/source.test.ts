// A big file's source: blocks read straight into the packet, and a file that shrinks under a
// transfer ends it with a read error instead of sending stale or zero bytes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileSource } from '../../../src/tftp/source.ts';

describe('tftp file source', () => {
  test('copies any range into the packet at an offset, and reports a file that shrank', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-tftp-src-'));
    try {
      const file = path.join(dir, 'f.bin');
      const data = randomBytes(300_000);
      fs.writeFileSync(file, data);
      const src = new FileSource(fs.openSync(file, 'r'), data.length);
      const pkt = Buffer.alloc(4 + 65464);
      for (const pos of [0, 65464, 300_000 - 1000]) {
        const len = Math.min(65464, data.length - pos);
        assert.equal(src.copy(pos, len, pkt, 4), true);
        assert.ok(pkt.subarray(4, 4 + len).equals(data.subarray(pos, pos + len)));
      }
      await src.load();
      fs.truncateSync(file, 100_000);
      assert.equal(src.copy(65464, 65464, pkt, 4), false);
      await assert.rejects(src.load(), /shrank/);
      // Once failed it stays failed: a retry must not send what a later read might return.
      assert.equal(src.copy(0, 100, pkt, 4), false);
      src.close();
      src.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
